#!/usr/bin/env bash
# SVG of Table 6: mean accuracy over the held-out scripts against labels per
# class (10, 50, all), one line per arm (the columns of the table that ran),
# each labelled with its bytes per task.
#
#   experiments/plot_remix.sh runs/remix > docs/remix.svg
# (reads REMIX_DIR/summary.md, which experiments/results.sh writes)
set -euo pipefail
R=${1:?usage: plot_remix.sh REMIX_DIR}
awk -F'|' '
function X(i) { return 70 + i * 150 }
function Y(a) { return 30 + (100 - a) / (100 - lo) * 260 }
$2 ~ /mean/ { n = $3; gsub(/ /, "", n); col = (n == "10") ? 0 : (n == "50") ? 1 : 2
    for (i = 4; i <= 9; i++) if ($i ~ /[0-9]/) { v[i, col] = $i + 0; has[i] = 1; if ($i + 0 < lo || !lo) lo = $i + 0 } }
$2 ~ /bytes/ { for (i = 4; i <= 9; i++) bytes[i] = $i }
END {
    lo = int(lo / 5) * 5 - 5; if (lo < 0) lo = 0
    split("mixture (basic, conv);mixture (basic, block);mixture (inverted, conv);head;full;scratch", name, ";")
    split("#1f77b4,#17becf,#2ca02c,#9467bd,#d62728,#7f7f7f", colour, ",")
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"340\" font-family=\"sans-serif\" font-size=\"11\">\n"
    printf "<text x=\"70\" y=\"16\">mean test accuracy (%%) over the held-out scripts</text>\n"
    for (a = lo; a <= 100; a += 5) printf "<line x1=\"60\" x2=\"380\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"30\" y=\"%.1f\">%d</text>\n", Y(a), Y(a), Y(a) + 4, a
    split("10,50,all", lab, ",")
    for (c = 0; c < 3; c++) printf "<text x=\"%d\" y=\"310\" text-anchor=\"middle\">%s</text>\n", X(c), lab[c + 1]
    printf "<text x=\"220\" y=\"330\" text-anchor=\"middle\">labels per class</text>\n"
    k = 0
    for (i = 4; i <= 9; i++) {
        if (!has[i]) continue
        path = ""
        for (c = 0; c < 3; c++) if ((i, c) in v) {
            path = path sprintf("%s%.1f,%.1f ", path == "" ? "M" : "L", X(c), Y(v[i, c]))
            printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", X(c), Y(v[i, c]), colour[i - 3]
        }
        printf "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", path, colour[i - 3]
        b = bytes[i]; gsub(/ /, "", b)
        printf "<text x=\"400\" y=\"%d\" fill=\"%s\">%s: %s bytes a task</text>\n", 40 + 18 * k++, colour[i - 3], name[i - 3], b == "-" ? "?" : b
    }
    printf "</svg>\n"
}' "$R/summary.md"
