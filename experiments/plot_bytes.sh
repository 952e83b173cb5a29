#!/usr/bin/env bash
# SVG of accuracy against bytes per task: each arm of the longer transfers of
# Table 6 at the bytes a held-out script costs it (log scale), one line per
# labels-per-class setting, the 16 KB budget marked.
#
#   experiments/plot_bytes.sh runs/remix-long > docs/remix-bytes.svg
# (reads REMIX_LONG_DIR/curve.txt, which experiments/results.sh writes: lines
# of LABELS BYTES ACCURACY ARM)
set -euo pipefail
R=${1:?usage: plot_bytes.sh REMIX_LONG_DIR}
sort -k1,1 -k2,2n "$R/curve.txt" | awk '
function X(b) { return 70 + (log(b) / log(10) - 3) / 3 * 420 }
function Y(a) { return 60 + (100 - a) / (100 - lo) * 230 }
{ n++; lab[n] = $1; bytes[n] = $2; acc[n] = $3; arm[n] = $4; if (!lo || $3 < lo) lo = $3 }
END {
    lo = int(lo / 2) * 2 - 2
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"660\" height=\"350\" font-family=\"sans-serif\" font-size=\"11\">\n"
    printf "<text x=\"70\" y=\"16\">mean test accuracy (%%) over the held-out scripts against bytes a task stores (apart from its head)</text>\n"
    for (a = lo; a <= 100; a += 2) printf "<line x1=\"60\" x2=\"500\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"30\" y=\"%.1f\">%d</text>\n", Y(a), Y(a), Y(a) + 4, a
    split("1 KB,10 KB,100 KB,1 MB", tick, ",")
    for (e = 3; e <= 6; e++) printf "<text x=\"%.1f\" y=\"310\" text-anchor=\"middle\">%s</text>\n", X(10 ^ e), tick[e - 2]
    printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"60\" y2=\"290\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"300\" fill=\"#d62728\">16 KB</text>\n", X(16384), X(16384), X(16384) + 3
    printf "<text x=\"280\" y=\"330\" text-anchor=\"middle\">bytes per task (log scale)</text>\n"
    colour["50"] = "#ff7f0e"; colour["all"] = "#1f77b4"
    for (i = 1; i <= n; i++) {
        c = colour[lab[i]] ? colour[lab[i]] : "#555"
        path[lab[i]] = path[lab[i]] sprintf("%s%.1f,%.1f ", path[lab[i]] == "" ? "M" : "L", X(bytes[i]), Y(acc[i]))
        printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", X(bytes[i]), Y(acc[i]), c
        if (lab[i] == "all") # each arm named once, slanted above its top point
            printf "<text transform=\"translate(%.1f,%.1f) rotate(-35)\" fill=\"#333\">%s</text>\n", X(bytes[i]) + 2, Y(acc[i]) - 6, arm[i]
    }
    k = 0
    for (l in path) {
        c = colour[l] ? colour[l] : "#555"
        printf "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", path[l], c
        printf "<text x=\"520\" y=\"%d\" fill=\"%s\">%s labels per class</text>\n", 40 + 18 * k++, c, l
    }
    printf "</svg>\n"
}'
