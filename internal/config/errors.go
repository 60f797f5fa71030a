package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with the configuration. File and Line locate
// it (Line is 0 when the YAML gives no position); Path is the field path
// such as tenants[3].service_account.
type Problem struct {
	File    string
	Line    int
	Path    string
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError carries every problem found in one load, so an operator
// fixes them all in one pass instead of one per restart.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems one per line, as "FILE:LINE: FIELD_PATH: message".
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// source is one YAML file that contributed to the configuration, with the
// line of every field path it set. The line map doubles as the record of
// which optional keys were present (needed for "inherit unless set").
type source struct {
	file  string
	order int             // main file 0, tenants.d files 1.. in name order
	lines map[string]int  // field path -> line of its key (or item)
	set   map[string]bool // field paths given a non-null value
	// misspelt holds the field paths an unknown key was probably meant
	// for; "required" checks skip them so a typo is reported once.
	misspelt map[string]bool
	// failed holds the field paths whose value could not be decoded; later
	// checks of the default left there would only repeat the problem.
	failed map[string]bool
}

func newSource(file string, order int) *source {
	return &source{file: file, order: order, lines: map[string]int{}, set: map[string]bool{}, misspelt: map[string]bool{}, failed: map[string]bool{}}
}

// has reports whether the file gave the field path a (non-null) value.
func (s *source) has(path string) bool { return s.set[path] }

// lineOf finds the line of path, or of its nearest ancestor when the field
// itself is absent (a missing key is reported at its parent mapping).
func (s *source) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := s.lines[p]; ok {
			return l
		}
	}
	return 0
}

// parentPath strips the last element: "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// problems collects problems across every file of a load.
type problems struct {
	list []problemAt
}

type problemAt struct {
	Problem
	order int
}

// add records a problem at path in src, finding the line itself.
func (ps *problems) add(src *source, path, format string, args ...any) {
	if src.failed[path] {
		return
	}
	ps.addAt(src, src.lineOf(path), path, fmt.Sprintf(format, args...))
}

// addAt records a problem whose line is known (for example an unknown key,
// which by definition has no field path entry of its own).
func (ps *problems) addAt(src *source, line int, path, msg string) {
	ps.list = append(ps.list, problemAt{Problem{File: src.file, Line: line, Path: path, Message: msg}, src.order})
}

func (ps *problems) empty() bool { return len(ps.list) == 0 }

// err sorts by file (main file first), then line, then path, and returns
// nil when there is nothing to report.
func (ps *problems) err() error {
	if ps.empty() {
		return nil
	}
	sort.SliceStable(ps.list, func(i, j int) bool {
		a, b := ps.list[i], ps.list[j]
		if a.order != b.order {
			return a.order < b.order
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Path < b.Path
	})
	out := &ValidationError{Problems: make([]Problem, len(ps.list))}
	for i, p := range ps.list {
		out.Problems[i] = p.Problem
	}
	return out
}

// joinPath appends a mapping key to a field path.
func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// indexPath appends a sequence index to a field path.
func indexPath(base string, i int) string {
	return fmt.Sprintf("%s[%d]", base, i)
}
