#!/usr/bin/env bash
# The logic of orgform's GitHub Action (action.yml at the repository root):
# runs one orgform command, writes its Markdown report to
# $GITHUB_STEP_SUMMARY, sets the step outputs `exit-code`, `has-changes` and
# `report-path` in $GITHUB_OUTPUT, and turns config errors into annotations.
# Kept out of action.yml so that tests can run it locally with fake GITHUB_*
# files (tests/git/gitops.rs).
#
# Inputs (environment):
#   ORGFORM_COMMAND           validate | diff | plan | apply | drift (required)
#   ORGFORM_CONFIG            config file or directory (default: orgform's own,
#                             ./org/ or ./orgform.yaml)
#   ORGFORM_BASE_REF          diff: --base REV (required); plan: --changed-since REV (optional)
#   ORGFORM_ARGS              extra arguments, split on whitespace
#   ORGFORM_TELEGRAM_TOKEN    the bot token; only plan, apply and drift see it
#   ORGFORM_TELEGRAM_API_URL  Bot API base URL (optional)
#   ORGFORM_STATE_DIR         orgform's store and journals (optional)
#   ORGFORM_STATE             the state backend URL, e.g. postgres://… (optional; masked)
#   ORGFORM_BIN               the orgform binary (default: orgform on PATH)
#   RUNNER_TEMP               where the report is written (default: $TMPDIR or /tmp)
#   ORGFORM_COMMENT           true: post the report as one sticky pull request
#                             comment, updated in place (see post_comment)
#   ORGFORM_GITHUB_TOKEN      the token for the comment (default: GITHUB_TOKEN)
#   GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_WORKFLOW
#                             set by the runner; used for the comment
#
# `apply` gets --auto-approve: the merge that triggered the run is the approval.
#
# Exit status: 0 when orgform exits 0 (nothing to do) or 2 (changes, drift,
# differences: see the `has-changes` output); orgform's own status otherwise,
# so the step fails on 1 (an error, usage errors included), 3 (refused by a
# guard or policy), 130 (interrupted) and anything else.
set -uo pipefail

bin=${ORGFORM_BIN:-orgform}
command=${ORGFORM_COMMAND:-}
config=${ORGFORM_CONFIG:-}
cfg=()
if [[ -n "$config" ]]; then cfg=("$config"); fi
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

# A Markdown fence longer than any backtick run in the file, so text from
# Telegram or the server cannot close it.
fence_for() { # file
  local longest
  longest=$(grep -o '`*' "$1" 2>/dev/null | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }')
  if (( longest < 3 )); then longest=2; fi
  printf '`%.0s' $(seq 1 $((longest + 1)))
}

# Post the report as one sticky comment on the pull request: one per
# workflow, config and command, found by a hidden marker and updated in
# place. Only a comment written by the same identity (the token's user) is
# ever edited; a marker in anyone else's comment is ignored.
post_comment() { # report
  local api=${GITHUB_API_URL:-https://api.github.com}
  local token=${ORGFORM_GITHUB_TOKEN:-${GITHUB_TOKEN:-}}
  local repo=${GITHUB_REPOSITORY:-}
  local number=""
  if [[ -n "${GITHUB_EVENT_PATH:-}" && -f "$GITHUB_EVENT_PATH" ]]; then
    number=$(jq -r '.pull_request.number // .issue.number // empty' "$GITHUB_EVENT_PATH")
  fi
  if [[ -z "$token" || -z "$repo" || -z "$number" ]]; then
    annotate warning "comment: true needs a pull request event, GITHUB_REPOSITORY and a token; no comment posted"
    return 0
  fi
  local auth=(-H "Authorization: Bearer $token" -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28")
  local marker="<!-- orgform:${GITHUB_WORKFLOW:-workflow}:${config:-default}:${command} -->"
  # Who we are: the token's user, or the Actions bot for GITHUB_TOKEN
  # (which may not read /user).
  local me
  me=$(curl -fsS --max-time 30 "${auth[@]}" "$api/user" 2>/dev/null | jq -r '.login // empty' 2>/dev/null || true)
  if [[ -z "$me" ]]; then me="github-actions[bot]"; fi
  local body
  body=$(jq -Rs --arg marker "$marker" '{body: ($marker + "\n" + .)}' < "$1")
  local existing="" page=1 comments
  while (( page <= 50 )); do
    comments=$(curl -fsS --max-time 30 "${auth[@]}" "$api/repos/$repo/issues/$number/comments?per_page=100&page=$page") || {
      annotate warning "comment: cannot list the pull request's comments; no comment posted"
      return 0
    }
    existing=$(jq -r --arg marker "$marker" --arg me "$me" \
      '[.[] | select(.user.login == $me and (.body | startswith($marker)))][0].id // empty' <<< "$comments")
    if [[ -n "$existing" || $(jq 'length' <<< "$comments") -lt 100 ]]; then break; fi
    page=$((page + 1))
  done
  if [[ -n "$existing" ]]; then
    curl -fsS --max-time 30 -X PATCH "${auth[@]}" "$api/repos/$repo/issues/comments/$existing" -d "$body" > /dev/null \
      && echo "orgform: updated comment $existing" \
      || annotate warning "comment: cannot update comment $existing"
  else
    curl -fsS --max-time 30 -X POST "${auth[@]}" "$api/repos/$repo/issues/$number/comments" -d "$body" > /dev/null \
      && echo "orgform: posted a comment on #$number" \
      || annotate warning "comment: cannot post a comment on #$number"
  fi
}

markdown=true
case "$command" in
  validate) args=(validate "${cfg[@]}" --format github) ;;
  diff)
    if [[ -z "$base" ]]; then
      annotate error "the diff command needs the base-ref input (e.g. origin/\${{ github.base_ref }})"
      exit 1
    fi
    args=(diff --base "$base" "${cfg[@]}" --format markdown) ;;
  plan)
    args=(plan "${cfg[@]}" --format markdown --detailed-exitcode)
    if [[ -n "$base" ]]; then args+=(--changed-since "$base"); fi ;;
  apply | drift)
    args=("$command" "${cfg[@]}")
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
    f=$(fence_for "$report.body")
    echo "${f}text"
    cat "$report.body"
    echo "$f"
  fi
  # Whatever the command said on stderr explains an error or a refusal.
  if [[ $code -ne 0 && $code -ne 2 && -s "$stderr" ]]; then
    echo
    f=$(fence_for "$stderr")
    echo "${f}text"
    cat "$stderr"
    echo "$f"
  fi
} > "$report"
rm -f "$report.body"

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  cat "$report" >> "$GITHUB_STEP_SUMMARY"
fi
has_changes=false
if [[ $code -eq 2 ]]; then has_changes=true; fi
# What apply did, from its report's first line:
# "Run `RUN`: **STATUS**. N applied, N failed, N rolled back, N not run, …"
run_id="" status="" applied="" failed="" rolled_back="" not_run=""
if [[ "$command" == "apply" ]]; then
  line=$(grep -m1 -E '^Run `[^`]+`: \*\*' "$report" || true)
  if [[ -n "$line" ]]; then
    run_id=$(sed -E 's/^Run `([^`]+)`.*/\1/' <<< "$line")
    status=$(sed -E 's/^Run `[^`]+`: \*\*([^*]+)\*\*.*/\1/; s/[;.].*//' <<< "$line")
    applied=$(sed -E 's/.* ([0-9]+) applied,.*/\1/' <<< "$line")
    failed=$(sed -E 's/.* ([0-9]+) failed,.*/\1/' <<< "$line")
    rolled_back=$(sed -E 's/.* ([0-9]+) rolled back,.*/\1/' <<< "$line")
    not_run=$(sed -E 's/.* ([0-9]+) not run,.*/\1/' <<< "$line")
  elif grep -q 'Nothing to apply' "$report"; then
    status="nothing to apply" applied=0 failed=0 rolled_back=0 not_run=0
  fi
fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  {
    echo "exit-code=$code"
    echo "has-changes=$has_changes"
    echo "report-path=$report"
    if [[ "$command" == "apply" ]]; then
      echo "run-id=$run_id"
      echo "status=$status"
      echo "applied=$applied"
      echo "failed=$failed"
      echo "rolled-back=$rolled_back"
      echo "not-run=$not_run"
    fi
  } >> "$GITHUB_OUTPUT"
fi
if [[ "${ORGFORM_COMMENT:-false}" == "true" ]]; then
  post_comment "$report"
fi
echo "orgform $command exited $code (has-changes: $has_changes); report: $report"

case $code in
  0 | 2) exit 0 ;;
  *) exit "$code" ;;
esac
