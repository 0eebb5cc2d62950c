package policy

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// cfgEntry is one key of the file's node tree with its dotted path.
type cfgEntry struct {
	path []string
	key  *yaml.Node // nil for the document root
	val  *yaml.Node
}

// cfgIndexTree lists every mapping key of the tree rooted at root, in document
// order. Aliases are not followed: a key is listed once, where it is written.
func cfgIndexTree(root *yaml.Node) []cfgEntry {
	entries := []cfgEntry{{val: root}}
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
				// Merged keys belong to the mapping that merges them.
				walk(v, path)
				continue
			}
			p := cfgAppend(path, k.Value)
			entries = append(entries, cfgEntry{path: p, key: k, val: v})
			walk(v, p)
		}
	}
	walk(root, nil)
	return entries
}

// cfgAppend returns a new path; it never shares the backing array of path.
func cfgAppend(path []string, elems ...string) []string {
	p := make([]string, 0, len(path)+len(elems))
	return append(append(p, path...), elems...)
}

// cfgPos returns the line and column of the key at path, or of the deepest
// ancestor of it that the file writes when the key itself is absent (a default,
// or a key that came in through an alias); 0, 0 when not even the first element
// exists.
func cfgPos(root *yaml.Node, path ...string) (line, col int) {
	n := root
	for _, elem := range path {
		k, v := cfgLookup(n, elem, 0)
		if k == nil {
			break
		}
		line, col = k.Line, k.Column
		n = v
	}
	return line, col
}

// cfgLookup finds key in mapping n, following aliases and merge keys as yaml.v3 does
// when it decodes (a key written in the mapping wins over a merged one). depth
// bounds the recursion through aliases.
func cfgLookup(n *yaml.Node, key string, depth int) (k, v *yaml.Node) {
	if n == nil || depth > 16 {
		return nil, nil
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil && depth <= 16 {
		n = n.Alias
		depth++
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.Value == "<<" && kn.ShortTag() == "!!merge" {
			merges = append(merges, vn)
			continue
		}
		if kn.Value == key {
			return kn, vn
		}
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			if _, v := cfgLookup(s, key, depth+1); v != nil {
				// The position shown is the merge key's: that is where the file
				// brings this key into the mapping.
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i+1] == m {
						return n.Content[i], v
					}
				}
			}
		}
	}
	return nil, nil
}

// checkDuplicates reports every key written twice in one mapping. yaml.v3 finds
// them too, but it then skips the whole mapping and names only a line; this walk
// gives the key path and both positions, and records the mapping as broken so that
// checks which would see its keys missing stay quiet.
func (l *cfgLoader) checkDuplicates() {
	for _, e := range l.entries {
		n := e.val
		if n.Kind != yaml.MappingNode {
			continue
		}
		// Same rule as yaml.v3: keys of the same kind with the same text.
		type id struct {
			kind  yaml.Kind
			value string
		}
		first := map[id]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			kid := id{k.Kind, k.Value}
			if f, ok := first[kid]; ok {
				l.errs = append(l.errs, &ConfigError{
					File: l.file, Line: k.Line, Column: k.Column,
					Path: cfgJoin(cfgAppend(e.path, k.Value)),
					Msg:  fmt.Sprintf("duplicate key %q (first set at line %d)", k.Value, f.Line),
				})
				l.markBroken(e.path)
				continue
			}
			first[kid] = k
		}
	}
}

var (
	cfgReLeafErr    = regexp.MustCompile(`^(\d+):(\d+): (.*)$`)
	cfgReUnknownKey = regexp.MustCompile(`^line (\d+): field (.*) not found in type (\S+)$`)
	cfgReWrongType  = regexp.MustCompile("^line (\\d+): cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	cfgReDuplicate  = regexp.MustCompile(`^line (\d+): (?:mapping key .* already defined at line \d+|field (.*) already set in type \S+)$`)
	cfgReLine       = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
)

// decodeError turns what yaml.v3's decoder returned into ConfigErrors with key paths.
func (l *cfgLoader) decodeError(err error) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// Not a per-value problem: yaml.v3 gave up on the whole document (say, too
		// much aliasing), so nothing decoded can be trusted.
		l.markBroken(nil)
		l.errs = append(l.errs, l.syntaxError(err))
		return
	}
	used := map[*yaml.Node]bool{}
	for _, msg := range te.Errors {
		l.typeError(msg, used)
	}
}

func (l *cfgLoader) typeError(msg string, used map[*yaml.Node]bool) {
	if m := cfgReLeafErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		for _, e := range l.entries {
			if e.val.Line == line && e.val.Column == col {
				l.markBroken(e.path)
				l.errs = append(l.errs, l.entryError(e, m[3]))
				return
			}
		}
		l.markBroken(nil)
		l.errs = append(l.errs, &ConfigError{File: l.file, Line: line, Column: col, Msg: m[3]})
		return
	}
	if m := cfgReUnknownKey.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, e := range l.entries {
			if e.key != nil && e.key.Line == line && e.key.Value == m[2] && !used[e.key] {
				used[e.key] = true
				l.errs = append(l.errs, l.entryError(e, cfgUnknownKeyMsg(m[2], m[3])))
				return
			}
		}
		l.errs = append(l.errs, &ConfigError{File: l.file, Line: line, Msg: cfgUnknownKeyMsg(m[2], m[3])})
		return
	}
	if m := cfgReWrongType.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if m[4] == "string" {
			// Every string value decodes through cfgString, so a plain string
			// target is the key of a nas: or policies: entry.
			for _, e := range l.entries {
				if e.key != nil && e.key.Line == line && e.key.ShortTag() == m[2] && !used[e.key] {
					used[e.key] = true
					parent := e.path[:len(e.path)-1]
					// yaml.v3 skips just this entry; checks of its siblings stand.
					l.markBroken(e.path)
					l.errs = append(l.errs, &ConfigError{File: l.file, Line: e.key.Line, Column: e.key.Column, Path: cfgJoin(parent),
						Msg: fmt.Sprintf("a key must be a name, not %s", cfgKindName(e.key))})
					return
				}
			}
		}
		for _, e := range l.entries {
			if e.val.Line == line && e.val.ShortTag() == m[2] && !used[e.val] {
				used[e.val] = true
				l.markBroken(e.path)
				l.errs = append(l.errs, l.entryError(e, cfgWrongTypeMsg(e.path, e.val, m[4])))
				return
			}
		}
		l.markBroken(nil)
		l.errs = append(l.errs, &ConfigError{File: l.file, Line: line, Msg: strings.TrimPrefix(msg, "line "+m[1]+": ")})
		return
	}
	if cfgReDuplicate.MatchString(msg) {
		// checkDuplicates has reported it with its key path already.
		return
	}
	ce := &ConfigError{File: l.file, Msg: msg}
	if m := cfgReLine.FindStringSubmatch(msg); m != nil {
		ce.Line, _ = strconv.Atoi(m[1])
		ce.Msg = m[2]
	}
	l.markBroken(nil)
	l.errs = append(l.errs, ce)
}

// syntaxError turns a parser error ("yaml: line 3: could not find expected ':'")
// into a ConfigError; yaml.v3 gives a line but no column for these.
func (l *cfgLoader) syntaxError(err error) *ConfigError {
	msg := err.Error()
	if m := cfgReLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ConfigError{File: l.file, Line: line, Msg: "bad YAML: " + m[2]}
	}
	return &ConfigError{File: l.file, Msg: "bad YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// entryError places msg at e's key (or at the root when e is the root).
func (l *cfgLoader) entryError(e cfgEntry, msg string) *ConfigError {
	n := e.key
	if n == nil {
		n = e.val
	}
	return &ConfigError{File: l.file, Line: n.Line, Column: n.Column, Path: cfgJoin(e.path), Msg: msg}
}

func cfgWrongTypeMsg(path []string, val *yaml.Node, into string) string {
	if len(path) == 0 {
		return fmt.Sprintf("the file must be a mapping of keys such as nas: and policies:, not %s", cfgKindName(val))
	}
	what := "a mapping"
	if !strings.HasPrefix(into, "map[") && !strings.HasPrefix(into, "policy.") && !strings.HasPrefix(into, "*policy.") {
		what = into
	}
	return fmt.Sprintf("must be %s, not %s", what, cfgKindName(val))
}

// cfgUnknownKeyMsg names the unknown key and the nearest valid one, or all valid ones.
func cfgUnknownKeyMsg(key, typeName string) string {
	valid := cfgKeysOf()[typeName]
	if len(valid) == 0 {
		return fmt.Sprintf("unknown key %q", key)
	}
	best, bestDist := "", 3
	for _, v := range valid {
		if d := cfgEditDistance(key, v); d < bestDist {
			best, bestDist = v, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, best)
	}
	return fmt.Sprintf("unknown key %q (valid keys: %s)", key, strings.Join(valid, ", "))
}

// cfgKeysOf maps each cfg…Doc struct's type name, as yaml.v3 prints it, to the keys
// it accepts.
var cfgKeysOf = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[cfgDoc]().PkgPath() {
			return
		}
		if _, done := out[t.String()]; done {
			return
		}
		out[t.String()] = nil
		var keys []string
		var fields func(t reflect.Type)
		fields = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				tag := f.Tag.Get("yaml")
				if tag == "" {
					continue
				}
				if strings.Contains(tag, ",inline") {
					fields(f.Type)
					continue
				}
				keys = append(keys, strings.Split(tag, ",")[0])
				visit(f.Type)
			}
		}
		fields(t)
		sort.Strings(keys)
		out[t.String()] = keys
	}
	visit(reflect.TypeFor[cfgDoc]())
	return out
})

// cfgEditDistance is the Levenshtein distance, for "did you mean" hints.
func cfgEditDistance(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func cfgJoin(path []string) string { return strings.Join(path, ".") }
