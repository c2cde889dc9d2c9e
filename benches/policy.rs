//! Policy rule evaluation over a large generated org: filled in by the
//! next commit (see benches/policy.rs history).

fn main() {}
