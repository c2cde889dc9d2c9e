//! The user provider and the sandbox's MTProto front-end, end to end:
//! grammers over TCP on 127.0.0.1 against the same world the Bot API
//! front-end serves.
//!
//! One test binary (linking one binary per file cost minutes of CI).

#[path = "../hermetic/mod.rs"]
mod hermetic;

mod add_direct;
mod folders;
mod front_end;
mod provider;
mod rig;
mod saved_plans;
mod settings_cli;
