package config

import (
	"fmt"
	"strings"
)

// unknownFieldMessage names the closest known key (from closest) when the
// unknown one looks like a typo of it, or lists the keys of a small mapping.
func unknownFieldMessage(guess string, known []string) string {
	switch {
	case guess != "":
		return fmt.Sprintf("unknown field (did you mean %s?)", guess)
	case len(known) == 1:
		return fmt.Sprintf("unknown field (only %s is allowed here)", known[0])
	case len(known) <= maxListedKeys:
		return fmt.Sprintf("unknown field (expected one of %s)", strings.Join(known, ", "))
	}
	return "unknown field"
}

// maxListedKeys: beyond this, a list of valid keys is noise, not help.
const maxListedKeys = 6

// closest returns the known name within a typo's distance of key: at most
// one edit for short names, up to a third of the length for long ones.
func closest(key string, known []string) string {
	best, bestDist := "", -1
	limit := max(1, len(key)/3)
	for _, k := range known {
		d := editDistance(key, k)
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance with adjacent transpositions
// counted as one edit (optimal string alignment), over bytes: keys are ASCII.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
