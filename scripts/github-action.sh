#!/usr/bin/env bash
# The logic of orgform's GitHub Action (action.yml at the repository root):
# runs one orgform command, writes its Markdown report to
# $GITHUB_STEP_SUMMARY, sets the step outputs `exit-code`, `has-changes` and
# `report-path` in $GITHUB_OUTPUT, and turns config errors into annotations.
# Kept out of action.yml so that tests can run it locally with fake GITHUB_*
# files (tests/gitops.rs).
#
# Inputs (environment):
#   ORGFORM_COMMAND           validate | diff | plan | apply | drift (required)
#   ORGFORM_CONFIG            config file or directory (default: .)
#   ORGFORM_BASE_REF          diff: --base REV (required); plan: --changed-since REV (optional)
#   ORGFORM_ARGS              extra arguments, split on whitespace
#   ORGFORM_TELEGRAM_TOKEN    the bot token; only plan, apply and drift see it
#   ORGFORM_TELEGRAM_API_URL  Bot API base URL (optional)
#   ORGFORM_STATE_DIR         orgform's store and journals (optional)
#   ORGFORM_STATE             the state backend URL, e.g. postgres://… (optional; masked)
#   ORGFORM_BIN               the orgform binary (default: orgform on PATH)
#   RUNNER_TEMP               where the report is written (default: $TMPDIR or /tmp)
#
# `apply` gets --auto-approve: the merge that triggered the run is the approval.
#
# Exit status: 0 when orgform exits 0 (nothing to do) or 2 (changes, drift,
# differences: see the `has-changes` output); orgform's own status otherwise
# (1 error, 3 refused by a guard).
set -uo pipefail

bin=${ORGFORM_BIN:-orgform}
command=${ORGFORM_COMMAND:-}
config=${ORGFORM_CONFIG:-.}
base=${ORGFORM_BASE_REF:-}
read -r -a extra <<< "${ORGFORM_ARGS:-}"

# An action input left empty arrives as an empty variable: treat it as unset.
for name in ORGFORM_TELEGRAM_TOKEN ORGFORM_TELEGRAM_API_URL ORGFORM_STATE_DIR ORGFORM_STATE; do
  if [[ -z "${!name:-}" ]]; then unset "$name"; fi
done

# Never let the token reach a log: mask it before anything runs, and keep it
# from the commands that do not talk to Telegram (diff runs on forks' PRs).
if [[ -n "${ORGFORM_TELEGRAM_TOKEN:-}" && "${GITHUB_ACTIONS:-}" == "true" ]]; then
  echo "::add-mask::${ORGFORM_TELEGRAM_TOKEN}"
fi
# The state URL may hold a database password.
if [[ -n "${ORGFORM_STATE:-}" && "${GITHUB_ACTIONS:-}" == "true" ]]; then
  echo "::add-mask::${ORGFORM_STATE}"
fi

annotate() { # level message
  if [[ "${GITHUB_ACTIONS:-}" == "true" ]]; then echo "::$1 title=orgform::$2"; else echo "$1: $2" >&2; fi
}

markdown=true
case "$command" in
  validate) args=(validate "$config" --format github) ;;
  diff)
    if [[ -z "$base" ]]; then
      annotate error "the diff command needs the base-ref input (e.g. origin/\${{ github.base_ref }})"
      exit 1
    fi
    args=(diff --base "$base" "$config" --format markdown) ;;
  plan)
    args=(plan "$config" --format markdown --detailed-exitcode)
    if [[ -n "$base" ]]; then args+=(--changed-since "$base"); fi ;;
  apply | drift)
    args=("$command" "$config")
    help=$("$bin" "$command" --help 2>/dev/null || true)
    # Ask for Markdown when the command offers it; otherwise the text output
    # goes into the report as a code block.
    if grep -q -- 'markdown' <<< "$help"; then args+=(--format markdown); else markdown=false; fi
    # The merge that triggered the workflow is the approval.
    if [[ "$command" == "apply" ]] && grep -q -- '--auto-approve' <<< "$help"; then args+=(--auto-approve); fi ;;
  *)
    annotate error "unknown command '${command}': use validate, diff, plan, apply or drift"
    exit 1 ;;
esac
if [[ "$command" == "validate" || "$command" == "diff" ]]; then
  unset ORGFORM_TELEGRAM_TOKEN ORGFORM_STATE
fi

dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/orgform"
mkdir -p "$dir"
report="$dir/$command.md"
stdout="$dir/$command.stdout"
stderr="$dir/$command.stderr"

echo "orgform ${args[*]} ${extra[*]}"
"$bin" "${args[@]}" "${extra[@]}" > "$stdout" 2> "$stderr"
code=$?

# Workflow commands (annotations) go to the log, where the runner reads
# them; everything else on stdout is the report.
grep -E '^::(error|warning|notice)' "$stdout" || true
grep -vE '^::(error|warning|notice)' "$stdout" > "$report.body" || true
cat "$stderr" >&2

{
  if [[ "$command" == "validate" ]]; then
    echo "## orgform validate"
    echo
    if [[ $code -eq 0 ]]; then echo "✅ $(tail -n 1 "$report.body")"; else echo "❌ The config has problems (they are annotated on the files):"; fi
    echo
  elif [[ "$markdown" == "true" ]]; then
    cat "$report.body"
  else
    echo "## orgform $command"
    echo
    echo '```text'
    cat "$report.body"
    echo '```'
  fi
  # Whatever the command said on stderr explains an error or a refusal.
  if [[ $code -ne 0 && $code -ne 2 && -s "$stderr" ]]; then
    echo
    echo '```text'
    cat "$stderr"
    echo '```'
  fi
} > "$report"
rm -f "$report.body"

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  cat "$report" >> "$GITHUB_STEP_SUMMARY"
fi
has_changes=false
if [[ $code -eq 2 ]]; then has_changes=true; fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  {
    echo "exit-code=$code"
    echo "has-changes=$has_changes"
    echo "report-path=$report"
  } >> "$GITHUB_OUTPUT"
fi
echo "orgform $command exited $code (has-changes: $has_changes); report: $report"

case $code in
  0 | 2) exit 0 ;;
  *) exit "$code" ;;
esac
