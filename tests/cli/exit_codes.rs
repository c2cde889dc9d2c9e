//! Exit codes a pipeline can rely on: every usage error of every command
//! (and subcommand) exits 1 — never clap's 2, which means "changes" here —
//! `--help` exits 0 and states the exit codes, and every man page has EXIT
//! STATUS, ENVIRONMENT and FILES.

use assert_cmd::Command;

fn orgform() -> Command {
    crate::hermetic::bare()
}

/// Every command path: `["plan"]`, `["sandbox", "serve"]`, …
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&orgform::cli::command(), &[], &mut out);
    out
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = orgform().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_flag_exits_1_for_every_command() {
    let paths = command_paths();
    assert!(paths.len() >= 20, "{paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--definitely-not-a-flag");
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 1, "orgform {}: {stderr}", args.join(" "));
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}

#[test]
fn usage_errors_of_each_kind_exit_1() {
    let table: &[(&[&str], &str)] = &[
        // The example: a typo that used to look like "changes".
        (&["apply", "--allow-removal"], "--allow-removals"),
        (&["plann"], "unrecognized subcommand"),
        (&[], "Usage"),
        (&["plan", "--format", "yaml"], "invalid value"),
        (&["drift", "--format", "html"], "invalid value"),
        (&["diff"], "--base"),
        (&["show", "examples/acme", "person"], "<NAME>"),
        (&["rollback"], "<RUN>"),
        (&["completions"], "<TARGET>"),
        (&["completions", "tcsh"], "invalid value"),
        (&["sandbox"], "Usage"),
        (&["import"], "Usage"),
        (&["export"], "Usage"),
        (&["export", "access", "--format", "xml"], "invalid value"),
        (&["plan", "--parallel-chats", "0"], "parallel-chats"),
        (
            &["plan", "--sandbox", "--api-url", "http://127.0.0.1:1"],
            "cannot be used with",
        ),
        (
            &["apply", "--plan", "p.json", "--resume", "RUN"],
            "cannot be used with",
        ),
        (&["validate", "a", "b"], "unexpected argument"),
        (&["--color", "sometimes", "validate"], "invalid value"),
        (&["sandbox", "generate"], "--out"),
    ];
    for (args, expect) in table {
        let (code, _, stderr) = run(args);
        assert_eq!(code, 1, "orgform {}: {stderr}", args.join(" "));
        assert!(
            stderr.contains(expect),
            "orgform {}: {stderr}",
            args.join(" ")
        );
    }
}

#[test]
fn help_and_version_exit_0_and_help_states_the_exit_codes() {
    let (code, stdout, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("orgform "), "{stdout}");
    for path in std::iter::once(Vec::new()).chain(command_paths()) {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        for line in [
            "Exit status:",
            "  1    error",
            "  2    success, and there are changes",
            "  3    refused",
            "  130  interrupted",
        ] {
            assert!(
                stdout.contains(line),
                "{args:?} --help lacks {line:?}:\n{stdout}"
            );
        }
    }
}

#[test]
fn every_man_page_has_exit_status_environment_and_files() {
    let (code, page, stderr) = run(&["completions", "man"]);
    assert_eq!(code, 0, "{stderr}");
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        "ORGFORM_TELEGRAM_TOKEN",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "RUST_LOG",
    ] {
        assert!(page.contains(section), "orgform.1 lacks {section}");
    }
    assert!(
        page.contains("orgform\\-plan(1)"),
        "SEE ALSO names the sub-pages"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(&[
        "completions",
        "man",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    // One page per command path, plus orgform.1; every SEE ALSO target exists.
    assert_eq!(pages.len(), command_paths().len() + 1, "{pages:?}");
    for path in command_paths() {
        let name = format!("orgform-{}.1", path.join("-"));
        assert!(pages.contains(&name), "{name} missing from {pages:?}");
        let text = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES"] {
            assert!(text.contains(section), "{name} lacks {section}");
        }
    }
    for page in &pages {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        for line in text.lines().filter(|l| l.starts_with(".SH \"SEE ALSO\"")) {
            let _ = line;
        }
        let see_also = text.split(".SH \"SEE ALSO\"").nth(1).unwrap_or("");
        let list = see_also.lines().nth(1).unwrap_or("");
        for target in list.split(", ").filter(|t| t.ends_with("(1)")) {
            let file = format!("{}.1", target.trim_end_matches("(1)").replace("\\-", "-"));
            assert!(
                pages.contains(&file),
                "{page} refers to {file}, which was not generated"
            );
        }
    }
}

#[test]
fn errors_are_1_and_no_config_names_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = orgform()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("org") && stderr.contains("orgform.yaml"),
        "{stderr}"
    );
    // A docker-compose.yml at the root is not config: only ./org/ is read.
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services: {web: {image: x}}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("org")).unwrap();
    std::fs::copy("examples/minimal/org.yaml", dir.path().join("org/org.yaml")).unwrap();
    let out = orgform()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without org/, orgform.yaml is the default.
    std::fs::remove_dir_all(dir.path().join("org")).unwrap();
    std::fs::copy("examples/minimal/org.yaml", dir.path().join("orgform.yaml")).unwrap();
    let out = orgform()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
