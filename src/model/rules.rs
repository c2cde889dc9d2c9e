//! The vocabulary of policy rules: what a CEL expression in
//! `policies.rules` may name, and a static check of each expression against
//! it, so a typo or a type mismatch is a config diagnostic with file:line
//! (collected with every other config problem) instead of a failure at the
//! first plan.
//!
//! The `cel` crate parses and evaluates but does not type-check, so this
//! module walks the parsed expression with a small type model of the
//! values `policy` builds (see `policy::values`, which must agree with
//! [`field`]). Anything the walk cannot know (`dyn`) is let through; what it
//! can know is checked: unknown variables, unknown fields of the org's
//! objects, unknown functions, comparisons between different types,
//! arithmetic and logic on the wrong types, and a result that is not a bool.

use cel::common::ast::{Expr, IdedExpr};
use cel::common::value::CelVal;

use crate::spec::PolicySubject;

/// A static type of a CEL value as `policy` builds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// Unknown: anything goes.
    Dyn,
    Bool,
    Int,
    Float,
    Str,
    Time,
    Duration,
    Null,
    List(Box<Ty>),
    /// A map with string keys.
    Map(Box<Ty>),
    Obj(Obj),
}

/// The org's object kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obj {
    Org,
    Person,
    /// A person with their seat in one chat: every person field, plus
    /// `rights`, `title` and `owner`.
    Admin,
    Chat,
    Seat,
    Grant,
    Department,
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Dyn => write!(f, "dyn"),
            Ty::Bool => write!(f, "bool"),
            Ty::Int => write!(f, "int"),
            Ty::Float => write!(f, "double"),
            Ty::Str => write!(f, "string"),
            Ty::Time => write!(f, "timestamp"),
            Ty::Duration => write!(f, "duration"),
            Ty::Null => write!(f, "null"),
            Ty::List(t) => write!(f, "list({t})"),
            Ty::Map(t) => write!(f, "map(string, {t})"),
            Ty::Obj(o) => write!(f, "{}", obj_name(*o)),
        }
    }
}

fn obj_name(o: Obj) -> &'static str {
    match o {
        Obj::Org => "org",
        Obj::Person => "person",
        Obj::Admin => "admin",
        Obj::Chat => "chat",
        Obj::Seat => "seat",
        Obj::Grant => "grant",
        Obj::Department => "department",
    }
}

fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}

const PERSON_FIELDS: &[&str] = &[
    "handle",
    "id",
    "name",
    "username",
    "department",
    "departments",
    "labels",
    "roles",
    "status",
    "known",
    "admin_in",
    "member_of",
    "grants",
];

/// The fields of an object kind; `policy::values` builds exactly these.
pub fn fields(o: Obj) -> &'static [&'static str] {
    match o {
        Obj::Org => &["name", "people", "chats", "departments"],
        Obj::Person => PERSON_FIELDS,
        Obj::Admin => &[
            "handle",
            "id",
            "name",
            "username",
            "department",
            "departments",
            "labels",
            "roles",
            "status",
            "known",
            "admin_in",
            "member_of",
            "grants",
            "rights",
            "title",
            "owner",
        ],
        Obj::Chat => &[
            "key",
            "id",
            "type",
            "template",
            "title",
            "labels",
            "membership",
            "forum",
            "members",
            "admins",
        ],
        Obj::Seat => &["admin", "rights", "title", "owner", "restricted"],
        Obj::Grant => &["person", "role", "chats", "until", "reason"],
        Obj::Department => &["key", "name", "parent", "leads"],
    }
}

/// The type of `o.name`, or `None` when there is no such field.
pub fn field(o: Obj, name: &str) -> Option<Ty> {
    if !fields(o).contains(&name) {
        return None;
    }
    Some(match (o, name) {
        (Obj::Org, "name") => Ty::Str,
        (Obj::Org, "people") => Ty::Map(Box::new(Ty::Obj(Obj::Person))),
        (Obj::Org, "chats") => Ty::Map(Box::new(Ty::Obj(Obj::Chat))),
        (Obj::Org, "departments") => Ty::Map(Box::new(Ty::Obj(Obj::Department))),
        (Obj::Person | Obj::Admin, "id") => Ty::Int,
        (Obj::Person | Obj::Admin, "departments" | "roles" | "admin_in" | "member_of") => {
            list(Ty::Str)
        }
        (Obj::Person | Obj::Admin, "labels") => Ty::Map(Box::new(Ty::Str)),
        (Obj::Person | Obj::Admin, "known") => Ty::Bool,
        (Obj::Person | Obj::Admin, "grants") => list(Ty::Obj(Obj::Grant)),
        (Obj::Admin | Obj::Seat, "rights") => list(Ty::Str),
        (Obj::Admin | Obj::Seat, "owner") => Ty::Bool,
        (Obj::Chat, "id") => Ty::Int,
        (Obj::Chat, "labels") => Ty::Map(Box::new(Ty::Str)),
        (Obj::Chat, "forum") => Ty::Bool,
        (Obj::Chat, "members") => list(Ty::Obj(Obj::Person)),
        (Obj::Chat, "admins") => list(Ty::Obj(Obj::Admin)),
        (Obj::Seat, "admin" | "restricted") => Ty::Bool,
        (Obj::Grant, "chats") => list(Ty::Str),
        (Obj::Grant, "until") => Ty::Time,
        (Obj::Department, "leads") => list(Ty::Str),
        _ => Ty::Str,
    })
}

/// The variables a rule about `subject` sees, with their types.
pub fn variables(subject: PolicySubject) -> Vec<(&'static str, Ty)> {
    let mut vars = vec![("org", Ty::Obj(Obj::Org)), ("now", Ty::Time)];
    match subject {
        PolicySubject::Chat => vars.push(("chat", Ty::Obj(Obj::Chat))),
        PolicySubject::Person => vars.push(("person", Ty::Obj(Obj::Person))),
        PolicySubject::Seat => {
            vars.push(("chat", Ty::Obj(Obj::Chat)));
            vars.push(("person", Ty::Obj(Obj::Person)));
            vars.push(("seat", Ty::Obj(Obj::Seat)));
        }
        PolicySubject::Grant => {
            vars.push(("person", Ty::Obj(Obj::Person)));
            vars.push(("grant", Ty::Obj(Obj::Grant)));
        }
    }
    vars
}

/// Functions a rule may call (CEL's standard ones that `cel` implements,
/// and `distinct`, which `policy` adds).
pub const FUNCTIONS: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "string",
    "int",
    "double",
    "uint",
    "max",
    "min",
    "duration",
    "timestamp",
    "distinct",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
];

/// A problem with one expression: the message and, for syntax errors, the
/// 1-based line and column inside the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprProblem {
    pub message: String,
    pub at: Option<(usize, usize)>,
    /// True for syntax errors, false for type errors.
    pub syntax: bool,
}

/// Parse an expression.
pub fn parse(expr: &str) -> Result<IdedExpr, Vec<ExprProblem>> {
    cel::parser::Parser::new().parse(expr).map_err(|errs| {
        errs.errors
            .iter()
            .map(|e| ExprProblem {
                message: e.msg.clone(),
                at: (e.pos.0 > 0).then(|| (e.pos.0 as usize, e.pos.1.max(1) as usize)),
                syntax: true,
            })
            .collect()
    })
}

/// Parse and type-check an expression for `subject`: every problem found.
pub fn check(expr: &str, subject: PolicySubject) -> Vec<ExprProblem> {
    let parsed = match parse(expr) {
        Ok(p) => p,
        Err(problems) => return problems,
    };
    let mut checker = TypeCheck {
        scopes: vec![
            variables(subject)
                .into_iter()
                .map(|(n, t)| (n.to_string(), t))
                .collect(),
        ],
        problems: Vec::new(),
    };
    let ty = checker.ty(&parsed);
    if !matches!(ty, Ty::Bool | Ty::Dyn) {
        checker.problem(format!(
            "the rule must be a condition (bool), but this expression is a {ty}"
        ));
    }
    checker.problems
}

struct TypeCheck {
    scopes: Vec<Vec<(String, Ty)>>,
    problems: Vec<ExprProblem>,
}

impl TypeCheck {
    fn problem(&mut self, message: String) {
        if !self.problems.iter().any(|p| p.message == message) {
            self.problems.push(ExprProblem {
                message,
                at: None,
                syntax: false,
            });
        }
    }

    fn lookup(&self, name: &str) -> Option<Ty> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.clone())
    }

    fn ty(&mut self, e: &IdedExpr) -> Ty {
        match &e.expr {
            Expr::Unspecified => Ty::Dyn,
            Expr::Literal(v) => match v {
                CelVal::Boolean(_) => Ty::Bool,
                CelVal::Int(_) | CelVal::UInt(_) => Ty::Int,
                CelVal::Double(_) => Ty::Float,
                CelVal::String(_) => Ty::Str,
                CelVal::Null => Ty::Null,
                _ => Ty::Dyn,
            },
            Expr::Ident(name) => match self.lookup(name) {
                Some(t) => t,
                None => {
                    let known: Vec<&str> = self
                        .scopes
                        .first()
                        .map(|s| s.iter().map(|(n, _)| n.as_str()).collect())
                        .unwrap_or_default();
                    self.problem(format!(
                        "unknown variable `{name}`; this rule can use {}",
                        known.join(", ")
                    ));
                    Ty::Dyn
                }
            },
            Expr::Select(sel) => {
                let operand = self.ty(&sel.operand);
                let t = self.select(&operand, &sel.field);
                if sel.test { Ty::Bool } else { t }
            }
            Expr::List(l) => {
                let mut elem = None;
                for item in &l.elements {
                    let t = self.ty(item);
                    elem = match elem {
                        None => Some(t),
                        Some(prev) if prev == t => Some(prev),
                        Some(_) => Some(Ty::Dyn),
                    };
                }
                list(elem.unwrap_or(Ty::Dyn))
            }
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr {
                        self.ty(&me.key);
                        self.ty(&me.value);
                    }
                }
                Ty::Map(Box::new(Ty::Dyn))
            }
            Expr::Struct(_) => {
                self.problem("message literals are not supported in rules".into());
                Ty::Dyn
            }
            Expr::Comprehension(c) => {
                let range = self.ty(&c.iter_range);
                let elem = match &range {
                    Ty::List(t) => (**t).clone(),
                    Ty::Map(_) => Ty::Str,
                    Ty::Dyn => Ty::Dyn,
                    other => {
                        self.problem(format!("cannot iterate over a {other}"));
                        Ty::Dyn
                    }
                };
                let init = self.ty(&c.accu_init);
                self.scopes.push(vec![
                    (c.accu_var.clone(), init.clone()),
                    (c.iter_var.clone(), elem),
                ]);
                self.ty(&c.loop_cond);
                let step = self.ty(&c.loop_step);
                let accu_ty = match (&init, step) {
                    (Ty::List(inner), Ty::List(s)) if **inner == Ty::Dyn => Ty::List(s),
                    _ => init,
                };
                if let Some(last) = self.scopes.last_mut() {
                    last[0].1 = accu_ty;
                }
                let result = self.ty(&c.result);
                self.scopes.pop();
                result
            }
            Expr::Call(call) => self.call(call),
        }
    }

    fn select(&mut self, operand: &Ty, field_name: &str) -> Ty {
        match operand {
            Ty::Obj(o) => match field(*o, field_name) {
                Some(t) => t,
                None => {
                    let names = fields(*o).join(", ");
                    self.problem(format!(
                        "{} has no field `{field_name}`; its fields are {names}",
                        obj_name(*o)
                    ));
                    Ty::Dyn
                }
            },
            Ty::Map(t) => (**t).clone(),
            Ty::Dyn => Ty::Dyn,
            other => {
                self.problem(format!("cannot select `.{field_name}` from a {other}"));
                Ty::Dyn
            }
        }
    }

    fn call(&mut self, call: &cel::common::ast::CallExpr) -> Ty {
        let target = call.target.as_ref().map(|t| self.ty(t));
        let args: Vec<Ty> = call.args.iter().map(|a| self.ty(a)).collect();
        let name = call.func_name.as_str();
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Ty::Dyn);
        match name {
            "_&&_" | "_||_" | "!_" | "@not_strictly_false" => {
                for a in &args {
                    if !matches!(a, Ty::Bool | Ty::Dyn) {
                        self.problem(format!("`{}` needs bool operands, not {a}", op_text(name)));
                    }
                }
                Ty::Bool
            }
            "_?_:_" => {
                if !matches!(arg(0), Ty::Bool | Ty::Dyn) {
                    self.problem(format!(
                        "the condition of `? :` is a {}, not a bool",
                        arg(0)
                    ));
                }
                if arg(1) == arg(2) { arg(1) } else { Ty::Dyn }
            }
            "_==_" | "_!=_" => {
                self.comparable(name, &arg(0), &arg(1), false);
                Ty::Bool
            }
            "_<_" | "_<=_" | "_>_" | "_>=_" => {
                self.comparable(name, &arg(0), &arg(1), true);
                Ty::Bool
            }
            "@in" => {
                match arg(1) {
                    Ty::List(_) | Ty::Map(_) | Ty::Dyn => {}
                    other => self.problem(format!("`in` needs a list or a map, not {other}")),
                }
                Ty::Bool
            }
            "_+_" | "_-_" | "_*_" | "_/_" | "_%_" | "-_" => self.arith(name, &args),
            "_[_]" => match (arg(0), arg(1)) {
                (Ty::List(t), Ty::Int | Ty::Dyn) => *t,
                (Ty::Map(t), Ty::Str | Ty::Dyn) => *t,
                (Ty::Dyn, _) => Ty::Dyn,
                (c, i) => {
                    self.problem(format!("cannot index a {c} with a {i}"));
                    Ty::Dyn
                }
            },
            "size" => {
                let of = target.clone().unwrap_or_else(|| arg(0));
                if !matches!(of, Ty::List(_) | Ty::Map(_) | Ty::Str | Ty::Dyn) {
                    self.problem(format!("size() needs a list, map or string, not {of}"));
                }
                Ty::Int
            }
            "contains" | "startsWith" | "endsWith" | "matches" => Ty::Bool,
            "distinct" => {
                let of = target.clone().unwrap_or_else(|| arg(0));
                match of {
                    Ty::List(_) | Ty::Dyn => of,
                    other => {
                        self.problem(format!("distinct() needs a list, not {other}"));
                        Ty::Dyn
                    }
                }
            }
            "string" => Ty::Str,
            "int" | "uint" => Ty::Int,
            "double" => Ty::Float,
            "duration" => Ty::Duration,
            "timestamp" => Ty::Time,
            "max" | "min" => Ty::Dyn,
            n if n.starts_with("get") && FUNCTIONS.contains(&n) => Ty::Int,
            other => {
                self.problem(format!(
                    "unknown function `{other}`; rules can call {}",
                    FUNCTIONS.join(", ")
                ));
                Ty::Dyn
            }
        }
    }

    fn comparable(&mut self, op: &str, a: &Ty, b: &Ty, ordered: bool) {
        let same = |a: &Ty, b: &Ty| match (a, b) {
            (Ty::Dyn, _) | (_, Ty::Dyn) => true,
            (Ty::Null, _) | (_, Ty::Null) => !ordered,
            (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => true,
            (Ty::List(_), Ty::List(_)) | (Ty::Map(_), Ty::Map(_)) => !ordered,
            _ => a == b,
        };
        if !same(a, b) {
            self.problem(format!(
                "cannot compare a {a} with a {b} using `{}`",
                op_text(op)
            ));
        } else if ordered
            && !matches!(
                a,
                Ty::Int | Ty::Float | Ty::Str | Ty::Time | Ty::Duration | Ty::Dyn
            )
        {
            self.problem(format!("a {a} has no order for `{}`", op_text(op)));
        }
    }

    fn arith(&mut self, op: &str, args: &[Ty]) -> Ty {
        let a = args.first().cloned().unwrap_or(Ty::Dyn);
        let b = args.get(1).cloned();
        let out = match (op, &a, &b) {
            (_, Ty::Dyn, _) | (_, _, Some(Ty::Dyn)) => Some(Ty::Dyn),
            ("-_", Ty::Int | Ty::Float | Ty::Duration, None) => Some(a.clone()),
            (_, Ty::Int, Some(Ty::Int)) => Some(Ty::Int),
            (_, Ty::Float, Some(Ty::Float)) => Some(Ty::Float),
            ("_+_", Ty::Str, Some(Ty::Str)) => Some(Ty::Str),
            ("_+_", Ty::List(x), Some(Ty::List(y))) => Some(if x == y {
                a.clone()
            } else if **x == Ty::Dyn {
                list((**y).clone())
            } else {
                list(Ty::Dyn)
            }),
            ("_-_", Ty::Time, Some(Ty::Time)) => Some(Ty::Duration),
            ("_-_" | "_+_", Ty::Time, Some(Ty::Duration)) => Some(Ty::Time),
            ("_+_", Ty::Duration, Some(Ty::Time)) => Some(Ty::Time),
            ("_-_" | "_+_", Ty::Duration, Some(Ty::Duration)) => Some(Ty::Duration),
            _ => None,
        };
        out.unwrap_or_else(|| {
            match &b {
                Some(b) => self.problem(format!(
                    "`{}` does not apply to a {a} and a {b}",
                    op_text(op)
                )),
                None => self.problem(format!("`{}` does not apply to a {a}", op_text(op))),
            }
            Ty::Dyn
        })
    }
}

fn op_text(op: &str) -> &str {
    match op {
        "_&&_" => "&&",
        "_||_" => "||",
        "!_" | "@not_strictly_false" => "!",
        "_==_" => "==",
        "_!=_" => "!=",
        "_<_" => "<",
        "_<=_" => "<=",
        "_>_" => ">",
        "_>=_" => ">=",
        "_+_" => "+",
        "_-_" | "-_" => "-",
        "_*_" => "*",
        "_/_" => "/",
        "_%_" => "%",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(expr: &str, subject: PolicySubject) -> Vec<String> {
        check(expr, subject)
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn starter_rules_check_clean() {
        for (e, s) in [
            (
                "size(chat.admins) >= 2 && size(distinct(chat.admins.map(a, a.department))) >= 2",
                PolicySubject::Chat,
            ),
            (
                "!(has(person.labels.employment) && person.labels.employment == 'contractor')",
                PolicySubject::Seat,
            ),
            (
                "size(person.admin_in) <= 20 || 'org-admin' in person.roles",
                PolicySubject::Person,
            ),
            (
                "grant.reason != '' && grant.until != null && grant.until - now <= duration('2160h')",
                PolicySubject::Grant,
            ),
            ("chat.admins.all(a, a.known)", PolicySubject::Chat),
        ] {
            assert_eq!(problems(e, s), Vec::<String>::new(), "{e}");
        }
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let p = check("size(chat.admins) >=", PolicySubject::Chat);
        assert!(p[0].syntax);
        assert!(p[0].at.is_some());
    }

    #[test]
    fn type_errors_are_found() {
        assert!(
            problems("chat.admin.size() > 1", PolicySubject::Chat)[0].contains("no field `admin`")
        );
        assert!(
            problems("size(chat.admins) > 'two'", PolicySubject::Chat)[0]
                .contains("cannot compare a int with a string")
        );
        assert!(
            problems("person.known", PolicySubject::Chat)[0].contains("unknown variable `person`")
        );
        assert!(
            problems("size(chat.admins)", PolicySubject::Chat)[0].contains("must be a condition")
        );
        assert!(
            problems(
                "chat.admins.all(a, a.rigths.size() > 0)",
                PolicySubject::Chat
            )[0]
            .contains("admin has no field `rigths`")
        );
        assert!(problems("frobnicate(chat)", PolicySubject::Chat)[0].contains("unknown function"));
        assert!(
            problems("chat.title && true", PolicySubject::Chat)[0].contains("needs bool operands")
        );
    }
}
