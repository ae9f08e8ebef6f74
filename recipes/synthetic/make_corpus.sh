#!/usr/bin/env bash
# Makes a synthetic English speech corpus (fairseq manifests with .ltr/.wrd) from Debian's
# speech synthesisers. See README.md beside this script.
#
# Usage: recipes/synthetic/make_corpus.sh [--out DIR] [--seed N] [--hours H] [--jobs J]
#          [--eval-minutes M] [--train1h-minutes M] [--train10m-minutes M] [--fixtures DIR]
#          [--more-seed N [--random-share S]]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

out="$repo/data/synthetic"
seed=1
hours=3
jobs="$(nproc 2>/dev/null || echo 2)"
eval_min=10
t1h_min=60
t10m_min=10
fixtures=""
more_seed=""
random_share=0.2

usage() {
	sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
	cat <<EOF
Defaults: --out $repo/data/synthetic --seed 1 --hours 3 (unlabeled split) --jobs $jobs
          --eval-minutes 10 (dev, test, test-other each) --train1h-minutes 60
          --train10m-minutes 10. --fixtures DIR writes the three test WAVs and exits.
          --more-seed N makes only an unlabeled split of --hours of new renderings (voices,
          effects, random-word sentences from N; sentences from --seed's training pool, so
          the evaluation sentences stay out), with --random-share (0.2) random-word sentences.
EOF
}

need_val() { [[ $# -ge 2 && -n "$2" ]] || { echo "make_corpus: $1 needs a value" >&2; usage >&2; exit 2; }; }
num() { [[ "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "make_corpus: $1: not a number: $2" >&2; exit 2; }; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--out) need_val "$@"; out="$2"; shift 2 ;;
	--seed) need_val "$@"; [[ "$2" =~ ^[0-9]+$ ]] || { echo "make_corpus: --seed: not an integer: $2" >&2; exit 2; }; seed="$2"; shift 2 ;;
	--hours) need_val "$@"; num "$1" "$2"; hours="$2"; shift 2 ;;
	--jobs) need_val "$@"; [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "make_corpus: --jobs: not a positive integer: $2" >&2; exit 2; }; jobs="$2"; shift 2 ;;
	--eval-minutes) need_val "$@"; num "$1" "$2"; eval_min="$2"; shift 2 ;;
	--train1h-minutes) need_val "$@"; num "$1" "$2"; t1h_min="$2"; shift 2 ;;
	--train10m-minutes) need_val "$@"; num "$1" "$2"; t10m_min="$2"; shift 2 ;;
	--fixtures) need_val "$@"; fixtures="$2"; shift 2 ;;
	--more-seed) need_val "$@"; [[ "$2" =~ ^[0-9]+$ ]] || { echo "make_corpus: --more-seed: not an integer: $2" >&2; exit 2; }; more_seed="$2"; shift 2 ;;
	--random-share) need_val "$@"; num "$1" "$2"; random_share="$2"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "make_corpus: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

# Install what is missing (Debian/Ubuntu). Each check names a file the package provides.
declare -A want=(
	[espeak-ng]=/usr/bin/espeak-ng
	[flite]=/usr/bin/flite
	[festival]=/usr/bin/text2wave
	[festvox-kallpc16k]=/usr/share/festival/voices/english/kal_diphone
	[festvox-kdlpc16k]=/usr/share/festival/voices/english/ked_diphone
	[festvox-us-slt-hts]=/usr/share/festival/voices/us/cmu_us_slt_arctic_hts
	[sox]=/usr/bin/sox
	[libsox-fmt-all]=/usr/share/doc/libsox-fmt-all
	[fortunes]=/usr/share/games/fortunes/wisdom
	[wamerican]=/usr/share/dict/american-english
	[python3]=/usr/bin/python3
)
missing=()
for p in "${!want[@]}"; do
	[[ -e "${want[$p]}" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	IFS=$'\n' missing=($(sort <<<"${missing[*]}")); unset IFS
	echo "make_corpus: installing ${missing[*]}" >&2
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [[ -n "$fixtures" ]]; then
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	python3 "$here/corpus.py" fixtures --out "$work" --dest "$fixtures" --seed "$seed"
	exit 0
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Keep the corpus out of git when it lands inside a work tree (the default data/synthetic does).
if git -C "$out" rev-parse --is-inside-work-tree >/dev/null 2>&1 && [[ ! -e "$out/.gitignore" ]]; then
	printf '*\n' >"$out/.gitignore"
fi

start=$(date +%s)
if [[ -n "$more_seed" ]]; then
	echo "make_corpus: out $out seed $seed more-seed $more_seed hours $hours random-share $random_share jobs $jobs" >&2
	python3 "$here/corpus.py" more --out "$out" --seed "$seed" --more-seed "$more_seed" --hours "$hours" \
		--random-share "$random_share" --jobs "$jobs"
	echo "make_corpus: finished in $(($(date +%s) - start)) s; manifest in $out" >&2
	exit 0
fi
echo "make_corpus: out $out seed $seed hours $hours jobs $jobs" >&2
python3 "$here/corpus.py" build --out "$out" --seed "$seed" --hours "$hours" --jobs "$jobs" \
	--eval-minutes "$eval_min" --train1h-minutes "$t1h_min" --train10m-minutes "$t10m_min"
echo "make_corpus: finished in $(($(date +%s) - start)) s; manifests in $out" >&2
