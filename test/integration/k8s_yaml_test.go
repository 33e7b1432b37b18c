package integration

// A reader for the small subset of YAML that the Kubernetes examples use:
// block mappings and sequences by indentation, "- key: value" items, flow
// sequences of scalars on one line, "{}" and "[]", quoted and plain scalars,
// comments and "---". Anything else (anchors, tags, block scalars, flow
// mappings) is an error, so a manifest cannot silently say more than the
// test understood. Scalars stay strings.

import (
	"fmt"
	"strings"
)

type yamlLine struct {
	num    int // 1-based, for messages
	indent int
	text   string
}

// parseYAML returns the documents of src.
func parseYAML(src string) ([]any, error) {
	var docs []any
	var cur []yamlLine
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		n, next, err := yamlNode(cur, 0, cur[0].indent)
		if err != nil {
			return err
		}
		if next != len(cur) {
			return fmt.Errorf("line %d: unexpected indentation", cur[next].num)
		}
		docs = append(docs, n)
		cur = nil
		return nil
	}
	for i, raw := range strings.Split(src, "\n") {
		if strings.TrimSpace(raw) == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		text := strings.TrimRight(stripComment(raw), " \t\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		body := strings.TrimLeft(text, " ")
		if strings.HasPrefix(body, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", i+1)
		}
		cur = append(cur, yamlLine{num: i + 1, indent: len(text) - len(body), text: body})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// stripComment cuts a " #" comment that is outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

func isItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// yamlNode parses the block starting at lines[i], whose lines are indented
// by indent, and returns it with the index of the first line after it.
func yamlNode(lines []yamlLine, i, indent int) (any, int, error) {
	if isItem(lines[i].text) {
		return yamlSeq(lines, i, indent)
	}
	return yamlMap(lines, i, indent)
}

func yamlSeq(lines []yamlLine, i, indent int) (any, int, error) {
	var seq []any
	for i < len(lines) && lines[i].indent == indent && isItem(lines[i].text) {
		l := lines[i]
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" { // the item is the block below
			if i+1 >= len(lines) || lines[i+1].indent <= indent {
				seq = append(seq, nil)
				i++
				continue
			}
			n, next, err := yamlNode(lines, i+1, lines[i+1].indent)
			if err != nil {
				return nil, 0, err
			}
			seq, i = append(seq, n), next
			continue
		}
		if _, _, isKey := splitKey(rest); isKey || isItem(rest) {
			// "- key: value" opens a mapping at the column of key: parse
			// it with this line rewritten to start there.
			col := indent + len(l.text) - len(rest)
			sub := append([]yamlLine{{l.num, col, rest}}, lines[i+1:]...)
			n, next, err := yamlNode(sub, 0, col)
			if err != nil {
				return nil, 0, err
			}
			seq, i = append(seq, n), i+next
			continue
		}
		v, err := yamlScalar(rest, l.num)
		if err != nil {
			return nil, 0, err
		}
		seq = append(seq, v)
		i++
	}
	if i < len(lines) && lines[i].indent > indent {
		return nil, 0, fmt.Errorf("line %d: unexpected indentation", lines[i].num)
	}
	return seq, i, nil
}

func yamlMap(lines []yamlLine, i, indent int) (any, int, error) {
	m := map[string]any{}
	for i < len(lines) && lines[i].indent == indent {
		l := lines[i]
		if isItem(l.text) {
			return nil, 0, fmt.Errorf("line %d: a sequence item where a key was expected", l.num)
		}
		key, val, ok := splitKey(l.text)
		if !ok {
			return nil, 0, fmt.Errorf("line %d: want key: value, got %q", l.num, l.text)
		}
		if _, dup := m[key]; dup {
			return nil, 0, fmt.Errorf("line %d: key %q repeated", l.num, key)
		}
		i++
		if val != "" {
			v, err := yamlScalar(val, l.num)
			if err != nil {
				return nil, 0, err
			}
			m[key] = v
			continue
		}
		// The value is the block below: deeper, or a sequence at the
		// key's own column (YAML's compact form).
		if i < len(lines) && (lines[i].indent > indent || lines[i].indent == indent && isItem(lines[i].text)) {
			n, next, err := yamlNode(lines, i, lines[i].indent)
			if err != nil {
				return nil, 0, err
			}
			m[key], i = n, next
			continue
		}
		m[key] = nil
	}
	if i < len(lines) && lines[i].indent > indent {
		return nil, 0, fmt.Errorf("line %d: unexpected indentation", lines[i].num)
	}
	return m, i, nil
}

// splitKey splits "key: value" (or "key:"), the key plain or quoted.
func splitKey(s string) (key, val string, ok bool) {
	if s == "" {
		return "", "", false
	}
	var rest string
	if s[0] == '"' || s[0] == '\'' {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", "", false
		}
		key, rest = s[1:end+1], s[end+2:]
	} else {
		j := strings.Index(s, ":")
		if j < 0 {
			return "", "", false
		}
		key, rest = s[:j], s[j:]
		if strings.ContainsAny(key, "[]{},\"'") {
			return "", "", false
		}
	}
	if rest != ":" && !strings.HasPrefix(rest, ": ") {
		return "", "", false
	}
	return key, strings.TrimSpace(rest[1:]), true
}

// yamlScalar reads a scalar or a one-line flow sequence of scalars.
func yamlScalar(s string, num int) (any, error) {
	switch {
	case s == "{}":
		return map[string]any{}, nil
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("line %d: a flow sequence must end on its line: %q", num, s)
		}
		inner := strings.TrimSpace(s[1 : len(s)-1])
		seq := []any{}
		for inner != "" {
			item, rest, err := yamlFlowItem(inner, num)
			if err != nil {
				return nil, err
			}
			seq = append(seq, item)
			rest = strings.TrimSpace(rest)
			if rest != "" && !strings.HasPrefix(rest, ",") {
				return nil, fmt.Errorf("line %d: want , between items in %q", num, s)
			}
			inner = strings.TrimSpace(strings.TrimPrefix(rest, ","))
		}
		return seq, nil
	case s[0] == '"' || s[0] == '\'':
		v, rest, err := yamlQuoted(s, num)
		if err == nil && strings.TrimSpace(rest) != "" {
			err = fmt.Errorf("line %d: text after a quoted scalar: %q", num, s)
		}
		return v, err
	case strings.ContainsAny(s[:1], "&*!|>{%@`"):
		return nil, fmt.Errorf("line %d: YAML beyond what this reader takes: %q", num, s)
	}
	return s, nil
}

func yamlFlowItem(s string, num int) (string, string, error) {
	if s[0] == '"' || s[0] == '\'' {
		return yamlQuoted(s, num)
	}
	if strings.ContainsAny(s[:1], "[{&*!|>") {
		return "", "", fmt.Errorf("line %d: nested flow collections are not taken: %q", num, s)
	}
	j := strings.IndexByte(s, ',')
	if j < 0 {
		return strings.TrimSpace(s), "", nil
	}
	return strings.TrimSpace(s[:j]), s[j:], nil
}

// yamlQuoted reads a quoted scalar at the start of s and returns the rest.
func yamlQuoted(s string, num int) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case q == '\'' && c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == q:
			return b.String(), s[i+1:], nil
		case q == '"' && c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '/':
				b.WriteByte(s[i])
			default:
				return "", "", fmt.Errorf("line %d: escape \\%c is not taken", num, s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("line %d: unterminated quote in %q", num, s)
}

// yget follows a path of mapping keys (string) and sequence indexes (int).
func yget(n any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := n.(map[string]any)
			if !ok {
				return nil
			}
			n = m[k]
		case int:
			s, ok := n.([]any)
			if !ok || k < 0 || k >= len(s) {
				return nil
			}
			n = s[k]
		}
	}
	return n
}

func ystr(n any, path ...any) string {
	s, _ := yget(n, path...).(string)
	return s
}

func ylist(n any, path ...any) []any {
	s, _ := yget(n, path...).([]any)
	return s
}

// ynamed finds the item of a sequence of mappings whose name is name.
func ynamed(list []any, name string) any {
	for _, item := range list {
		if ystr(item, "name") == name {
			return item
		}
	}
	return nil
}

// ystrings turns a sequence of scalars into strings.
func ystrings(list []any) []string {
	var out []string
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}
