package protocol

import "strings"

// Op says what a diff line is.
type Op int

// Diff operations.
const (
	Same Op = iota
	Added
	Removed
)

// Line is one line of a diff.
type Line struct {
	Op   Op
	Text string
}

// Diff compares two texts line by line (longest common subsequence), so
// that a reader sees what a new version changed. Documents are a few
// hundred lines, so the quadratic table is small.
func Diff(old, new string) []Line {
	a, b := strings.Split(old, "\n"), strings.Split(new, "\n")
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []Line
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, Line{Same, a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, Line{Removed, a[i]})
			i++
		default:
			out = append(out, Line{Added, b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, Line{Removed, a[i]})
	}
	for ; j < m; j++ {
		out = append(out, Line{Added, b[j]})
	}
	return out
}
