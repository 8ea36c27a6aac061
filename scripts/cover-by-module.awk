# Reads a merged Go cover profile (blocks repeat once per test binary) and prints the
# statement coverage of each module: a block counts as covered if any binary ran it.
NR > 1 {
  split($1, loc, ":"); file = loc[1]
  key = $1; stmts[key] = $2
  if ($3 > 0) hit[key] = 1
  n = split(file, parts, "/"); mod[key] = parts[4]   # github.com/vividly-edu/notifications/<module>/…
}
END {
  for (k in stmts) { total[mod[k]] += stmts[k]; if (k in hit) covered[mod[k]] += stmts[k] }
  for (m in total) printf "%-10s %5.1f%% of %d statements\n", m, 100 * covered[m] / total[m], total[m]
}
