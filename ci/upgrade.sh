#!/usr/bin/env bash
# Takes a generated service to a newer version of this template without redoing the service's
# own work: a three-way merge, as copier and cruft do it in Python.
#
#   bash ci/upgrade.sh PATH/TO/SERVICE [--to REF] [--from REF]
#
# The service's `.template.toml` records the template version it came from and every answer.
# This script renders the template twice with those answers, at the recorded version (the
# merge base) and at the target (`--to`, default: the newest `v*` tag), and applies the
# difference between the two renderings to the service on a new branch
# `template-update/<target>`, with git's three-way merge (a cherry-pick whose parent is the
# old rendering). So:
#   - a file only the template changed takes the change;
#   - a file only the service changed stays as the service has it;
#   - a file both changed is merged, with conflict markers where the edits overlap;
#   - a file the service deleted stays deleted unless the template changed it (then listed);
#   - the service's branch is never touched: everything happens on the new branch.
#
# Refuses, changing nothing: a service that is not the top of a git repository or has no
# commit, no committed `.template.toml`, uncommitted or untracked files, a recorded version
# that is not a tag here (`--from` names the commit instead), an unknown or older `--to`, an
# existing update branch, and an ignored file of the service's where the update writes one.
# A failure once the update branch exists removes the branch and restores the service. The
# renderings run without hooks asking anything, and without `.env`: the service's own secrets
# are never written over.
#
# Exit status: 0 the update branch holds one commit to review and merge; 3 the update branch
# has conflicts to resolve (listed); 1 refused or failed, nothing changed; 2 wrong usage.
set -euo pipefail

usage() {
    sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

refuse() {
    echo "upgrade: $*" >&2
    echo "upgrade: nothing was changed." >&2
    exit 1
}

template=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
service=""
to=""
from=""
while (($#)); do
    case $1 in
        --to) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; to=$2; shift 2 ;;
        --from) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; from=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "upgrade: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) [[ -z $service ]] || { echo "upgrade: one service at a time" >&2; exit 2; }; service=$1; shift ;;
    esac
done
[[ -n $service ]] || { usage >&2; exit 2; }
started=$(date +%s)

# --- the service: a clean git repository with its record ---------------------------------------
[[ -d $service ]] || refuse "$service is not a directory."
service=$(cd -P "$service" && pwd)
top=$(git -C "$service" rev-parse --show-toplevel 2>/dev/null) ||
    refuse "$service is not a git repository. Commit the generated service first: git init && git add -A && git commit -m 'Generated service'."
[[ $(cd -P "$top" && pwd) == "$service" ]] ||
    refuse "$service is inside the git repository $top, not the top of its own: run the upgrade on a service that is its own repository."
git -C "$service" rev-parse -q --verify HEAD >/dev/null ||
    refuse "$service has no commit yet. Commit the generated service first: git add -A && git commit -m 'Generated service'."
git -C "$service" ls-files --error-unmatch .template.toml >/dev/null 2>&1 ||
    refuse "$service has no committed .template.toml, so the template version and answers it was generated with are unknown. Write one from the template's template/.template.toml with the answers you generated with, commit it, and pass --from <the template commit you generated from> (CHANGELOG.md, upgrade note of 0.1.0)."
for state in MERGE_HEAD CHERRY_PICK_HEAD REVERT_HEAD rebase-merge rebase-apply; do
    [[ ! -e $(git -C "$service" rev-parse --git-path "$state") ]] ||
        refuse "$service is in the middle of a merge, cherry-pick, revert or rebase: finish or abort it first."
done
dirty=$(git -C "$service" status --porcelain --untracked-files=all)
[[ -z $dirty ]] ||
    refuse "$service has uncommitted changes or untracked files; commit or stash them (git stash -u) and run again:
$dirty"

# The record, read with a real TOML parser: version, project name, then one answer per line.
record=$(python3 - "$service/.template.toml" <<'PY'
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        data = tomllib.load(f)
    version = data["template"]["version"]
    answers = data["answers"]
    name = answers["project-name"]
except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
    sys.exit(f"malformed .template.toml ({error!r}): it needs [template] version and [answers] project-name")
if not isinstance(version, str) or not version:
    sys.exit("malformed .template.toml: [template] version must be a string")
print(version)
print(name)
for key, value in answers.items():
    if key == "project-name":
        continue
    if isinstance(value, bool):
        value = "true" if value else "false"
    if not isinstance(value, (str, int)) or "\n" in str(value):
        sys.exit(f"malformed .template.toml: answer {key} must be a string or a boolean")
    print(f"{key}={value}")
PY
) || refuse "cannot read $service/.template.toml (above)."
mapfile -t record_lines <<<"$record"
version=${record_lines[0]}
name=${record_lines[1]}
defines=()
for answer in "${record_lines[@]:2}"; do defines+=(--define "$answer"); done

# --- the two template versions -----------------------------------------------------------------
from_ref=${from:-v$version}
from_commit=$(git -C "$template" rev-parse -q --verify "$from_ref^{commit}") ||
    refuse "unknown recorded version $version: the template repository $template has no tag $from_ref. Fetch its tags (git -C $template fetch --tags), or pass --from <the template commit this service was generated from>."
if [[ -z $to ]]; then
    to=$(git -C "$template" tag --list 'v[0-9]*' --sort=-v:refname | head -n 1)
    [[ -n $to ]] || refuse "the template repository $template has no version tag (v*): pass --to <ref>."
fi
to_commit=$(git -C "$template" rev-parse -q --verify "$to^{commit}") ||
    refuse "unknown target $to: no such tag, branch or commit in $template."
if [[ $from_commit == "$to_commit" ]]; then
    echo "upgrade: $service is already at $to ($from_ref); nothing to do."
    exit 0
fi
git -C "$template" merge-base --is-ancestor "$from_commit" "$to_commit" ||
    refuse "$to is not a later version than $from_ref (the service's): the upgrade only goes forward. To go back, revert the update's merge commit in the service."
branch="template-update/$to"
git check-ref-format --branch "$branch" >/dev/null 2>&1 || branch="template-update/${to_commit:0:12}"
! git -C "$service" rev-parse -q --verify "refs/heads/$branch" >/dev/null ||
    refuse "the branch $branch already exists (an earlier update?): merge it, or delete it (git branch -D $branch), and run again."
! git -C "$service" rev-parse -q --verify "refs/heads/template-update" >/dev/null ||
    refuse "a branch named template-update exists, so no branch template-update/... can be made: rename it (git branch -m template-update <new name>) and run again."
command -v cargo-generate >/dev/null ||
    refuse "cargo-generate is needed to render the template: bash $template/ci/install-cargo-generate.sh"

# Where the service is now, to come back to: a branch, or a commit (detached HEAD).
if original=$(git -C "$service" symbolic-ref -q --short HEAD); then
    detached=""
else
    original=$(git -C "$service" rev-parse HEAD)
    detached=yes
fi
switch_back() {
    if [[ -n $detached ]]; then
        git -C "$service" switch -q --detach "$original"
    else
        git -C "$service" switch -q "$original"
    fi
}

# Once the update branch exists, any failure puts the service back as it was: the branch's
# changes dropped, the original branch or commit checked out, the update branch deleted.
work=$(mktemp -d "${TMPDIR:-/tmp}/template-upgrade.XXXXXX")
branch_made=""
finished=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local status=$?
    if [[ -n $branch_made && -z $finished ]]; then
        git -C "$service" cherry-pick --abort >/dev/null 2>&1 || true
        git -C "$service" reset -q --hard >/dev/null 2>&1 || true
        switch_back >/dev/null 2>&1 || true
        git -C "$service" branch -q -D "$branch" >/dev/null 2>&1 || true
        echo "upgrade: failed on the update branch (above); the branch was removed." >&2
        echo "upgrade: nothing was changed." >&2
        status=1
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# render <commit> <label>: the template at <commit>, generated with the recorded answers, into
# $work/<label>. No questions (every answer is given, --silent), no git repository, no .env.
render() {
    local commit=$1 label=$2
    mkdir -p "$work/source-$label" "$work/out-$label"
    git -C "$template" archive "$commit" | tar -x -C "$work/source-$label"
    # cargo-generate wants an author (git's user.name, else $USER); a CI container may have neither.
    if ! USER=${USER:-$(id -un 2>/dev/null || echo upgrade)} cargo generate --path "$work/source-$label" \
        --name "$name" --destination "$work/out-$label" \
        --silent --vcs none "${defines[@]}" >"$work/render-$label.log" 2>&1; then
        cat "$work/render-$label.log" >&2
        refuse "the template at $commit did not render with the recorded answers (above)."
    fi
    local rendered=("$work/out-$label"/*)
    [[ ${#rendered[@]} -eq 1 && -d ${rendered[0]} ]] || refuse "rendering $commit gave no single project folder."
    mv "${rendered[0]}" "$work/$label"
    rm -f "$work/$label/.env"
}
echo "upgrade: rendering $name at $from_ref (${from_commit:0:12}) and at $to (${to_commit:0:12})"
render "$from_commit" base
render "$to_commit" target

# Two commits in a scratch repository: the old rendering, and the new one on top of it. Picking
# the second onto the service is the three-way merge with the old rendering as its base. The
# scratch repository ignores the user's git configuration (a global excludes file would drop
# template files, a signing or hook setting would fail the commit) and every ignore rule.
pair="$work/pair"
scratch_git() {
    GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 git -C "$pair" \
        -c user.name="ci/upgrade.sh" -c user.email="upgrade@template.invalid" "$@"
}
commit_pair() {
    scratch_git add -A --force
    scratch_git commit -q --no-verify --allow-empty -m "$1"
}
mkdir -p "$pair"
scratch_git init -q
cp -a "$work/base/." "$pair/"
commit_pair "Template $from_ref"
scratch_git rm -rq --ignore-unmatch .
cp -a "$work/target/." "$pair/"
message="Take template $to (from $from_ref)

Applied by the template's ci/upgrade.sh as a three-way merge: the difference between the
template rendered at $from_ref and at $to with this service's answers (.template.toml)."
commit_pair "$message"

# A file of the service's own that git does not track (ignored: a local config, a key) where the
# update writes a file would be overwritten by the merge: refuse instead.
declare -A tracked=()
while IFS= read -r -d '' path; do tracked[$path]=1; done < <(git -C "$service" ls-files -z)
collisions=()
while IFS= read -r -d '' path; do
    if [[ -z ${tracked[$path]+set} && ( -e $service/$path || -L $service/$path ) ]]; then
        collisions+=("$path")
    fi
done < <(scratch_git diff -z --name-only --no-renames --diff-filter=AMT HEAD~1 HEAD)
((${#collisions[@]} == 0)) ||
    refuse "the update writes files the service has but git does not track (ignored): ${collisions[*]}. Move them away (or commit them) and run again."

git -C "$service" fetch -q "$pair" HEAD
update=$(git -C "$service" rev-parse FETCH_HEAD)
branch_made=yes
git -C "$service" switch -q -c "$branch"
if [[ -n $detached ]]; then
    merge_hint="merge $branch where it belongs (you started on a detached HEAD at ${original:0:12})"
else
    merge_hint="git switch $original && git merge $branch"
fi
if git -C "$service" cherry-pick --no-commit "$update" >"$work/merge.log" 2>&1; then
    if git -C "$service" diff --cached --quiet; then
        switch_back
        git -C "$service" branch -q -D "$branch"
        finished=yes
        echo "upgrade: the service already has every change between $from_ref and $to; nothing to do."
        exit 0
    fi
    git -C "$service" commit -q --no-verify -m "$message"
    finished=yes
    echo "upgrade: branch $branch holds the update, merged without conflicts in $(($(date +%s) - started)) s:"
    git -C "$service" diff --stat HEAD~1 HEAD | tail -n 25
    status=0
else
    conflicts=$(git -C "$service" status --porcelain | grep -E '^(DD|AU|UD|UA|DU|AA|UU) ' || true)
    if [[ -z $conflicts ]]; then
        cat "$work/merge.log" >&2
        echo "upgrade: git could not apply the update (above)." >&2
        exit 1
    fi
    finished=yes
    echo "upgrade: branch $branch holds the update with conflicts to resolve ($(($(date +%s) - started)) s):"
    while IFS= read -r line; do
        path=${line:3}
        case ${line:0:2} in
            UU | AA) echo "  both changed (conflict markers in the file): $path" ;;
            DU) echo "  you deleted, template changed: $path (keep it deleted: git rm $path; or take it: git add $path)" ;;
            UD) echo "  template deleted, you changed: $path (git rm $path, or keep yours: git add $path)" ;;
            *) echo "  ${line:0:2} $path" ;;
        esac
    done <<<"$conflicts"
    echo "upgrade: resolve each file, git add it, then git commit (the message is prepared)."
    if [[ -n $detached ]]; then
        echo "upgrade: to give up: git reset --hard && git switch --detach $original && git branch -D $branch"
    else
        echo "upgrade: to give up: git reset --hard && git switch $original && git branch -D $branch"
    fi
    status=3
fi
# What the versions between say a team must do by hand.
notes=$(git -C "$template" show "$to_commit:CHANGELOG.md" 2>/dev/null |
    awk -v old="## $version " 'index($0, old) == 1 { exit } /^## / { show = 1 } show' || true)
if [[ -n $notes && -z $from ]]; then
    echo
    echo "upgrade: CHANGELOG.md since $version (read each Upgrade note):"
    echo "$notes"
fi
echo
echo "upgrade: review on $branch (cargo test), then: $merge_hint"
exit $status
