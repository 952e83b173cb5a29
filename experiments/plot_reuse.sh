#!/usr/bin/env bash
# SVG of Table 3: test accuracy against parameters (log scale), one panel
# per data set; plain networks as one line (L = 1, 2, 4, 8), template banks
# as one line per depth L (K = 1, 2, 4).
#
#   experiments/plot_reuse.sh runs/reuse > docs/reuse.svg
set -euo pipefail
R=${1:?usage: plot_reuse.sh REUSE_DIR}
for f in "$R"/*_*.out; do
    name=$(basename "$f" .out)
    p=$(sed -n 's/.* \([0-9][0-9]*\) trained parameters.*/\1/p' "$R/$name.err" | head -n 1)
    a=$(tail -n 1 "$f" | tr ' ' '\n' | sed -n 's/^test_acc=//p')
    echo "$name $p $a"
done | awk '
function X(p) { return x0 + (log(p) / log(2) - lo) / (hi - lo) * pw }
function Y(a) { return y0 + ph - (a - amin) / (amax - amin) * ph }
{ split($1, f, "_"); set = f[1]; n[set]++; name[set, n[set]] = $1; par[set, n[set]] = $2; acc[set, n[set]] = 100 * $3
  if (!(set in seen)) { seen[set] = 1; sets[++ns] = set } }
END {
    W = 420; H = 300; pw = 320; ph = 220
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", W * ns, H + 20
    colour["l2"] = "#1f77b4"; colour["l4"] = "#2ca02c"; colour["l8"] = "#d62728"; colour["plain"] = "#000000"
    for (s = 1; s <= ns; s++) {
        set = sets[s]; x0 = (s - 1) * W + 60; y0 = 20
        lo = 1e9; hi = -1e9; amin = 100; amax = 0
        for (i = 1; i <= n[set]; i++) {
            l2 = log(par[set, i]) / log(2); if (l2 < lo) lo = l2; if (l2 > hi) hi = l2
            if (acc[set, i] < amin) amin = acc[set, i]; if (acc[set, i] > amax) amax = acc[set, i]
        }
        lo -= 0.3; hi += 0.3; amin = int(amin) - 1; amax = int(amax) + 1
        printf "<text x=\"%d\" y=\"14\" font-weight=\"bold\">%s</text>\n", x0, set
        printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", x0, y0, pw, ph
        for (a = amin; a <= amax; a++) if ((amax - amin) <= 8 || a % 2 == 0)
            printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n", x0 - 4, Y(a) + 4, a
        printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">parameters (log scale)</text>\n", x0 + pw / 2, y0 + ph + 30
        for (series in colour) {
            m = 0
            for (i = 1; i <= n[set]; i++) {
                nm = name[set, i]
                if ((series == "plain") != (nm ~ /plain/)) continue
                if (series != "plain" && nm !~ ("_" series "$")) continue
                m++; px[m] = X(par[set, i]); py[m] = Y(acc[set, i]); lab[m] = nm
            }
            if (!m) continue
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (px[j] < px[i]) {
                t = px[i]; px[i] = px[j]; px[j] = t; t = py[i]; py[i] = py[j]; py[j] = t; t = lab[i]; lab[i] = lab[j]; lab[j] = t }
            path = ""
            for (i = 1; i <= m; i++) path = path sprintf("%s%.1f,%.1f", i > 1 ? " L" : "M", px[i], py[i])
            printf "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", path, colour[series]
            for (i = 1; i <= m; i++) {
                printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px[i], py[i], colour[series]
                split(lab[i], q, "_"); t = series == "plain" ? "L" substr(q[3], 2) : "K" substr(q[2], 2)
                printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" fill=\"%s\">%s</text>\n", px[i] + 4, py[i] - 4, colour[series], t
            }
        }
        ly = y0 + ph - 60
        split("plain l2 l4 l8", order, " ")
        for (i = 1; i <= 4; i++) {
            t = order[i] == "plain" ? "plain ResNet, L blocks" : "bank, L = " substr(order[i], 2) ", K templates"
            printf "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"3\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", x0 + pw - 150, ly + 14 * i - 4, colour[order[i]], x0 + pw - 136, ly + 14 * i, t
        }
    }
    print "</svg>"
}'
