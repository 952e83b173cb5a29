# Sourced by remix.sh and multitask_suite.sh: the many-task suite, ten
# letter scripts of `templar data scripts` seen in pretraining and four held
# out, with fashion, handwritten and optical beside them.  Needs BIN and
# OUT; sets the defaults both scripts share: SCRIPTS (the suite's directory,
# OUT/scripts, made when missing) and STEPS (the banks' pretraining, 12000).
SCRIPTS=${SCRIPTS:-$OUT/scripts}
STEPS=${STEPS:-12000}
SEEN=(greek cyrillic georgian hebrew arabic devanagari tamil ethiopic hiragana hangul)
HELD=(armenian bengali thai katakana)
[ -d "$SCRIPTS/armenian" ] || "$BIN" data scripts --out "$SCRIPTS" >&2
# suite_spec NAME: a task's --tasks spec (a built-in name or a script folder)
suite_spec() { case $1 in fashion | handwritten | optical) echo "$1" ;; *) echo "$1=folder:$SCRIPTS/$1" ;; esac; }
# the pretraining tasks, in the banks' order
SUITE_TASKS=(fashion handwritten optical "${SEEN[@]}")
SUITE_SPECS=$(for t in "${SUITE_TASKS[@]}"; do suite_spec "$t"; done | paste -sd,)
