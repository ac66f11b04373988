package compose

import (
	"strings"

	"go.yaml.in/yaml/v4"
)

// Editing a document re-parses all of it after every edit, so the next
// edit sees true positions. Several edits to one service can instead run
// on a small document that holds only that service's block (cheap to
// re-parse), and go back with one full re-parse. These helpers do that,
// and fall back to the whole document whenever the block cannot stand
// alone (it uses an anchor defined elsewhere) or an edit fails on it, so
// errors still carry the file's own line numbers.

// standalone returns a document of "services:" and block alone, styled
// like d (list or map environment, indentation), or nil.
func (d *Document) standalone(block string) *Document {
	mini, err := Parse(d.Path, []byte("services:\n"+block))
	if err != nil || len(mini.services.Content) != 2 {
		return nil
	}
	mini.style = d.rootStyle()
	return mini
}

// rootStyle is the document whose services decide style questions.
func (d *Document) rootStyle() *Document {
	if d.style != nil {
		return d.style
	}
	return d
}

// blockOf is the text of a service's block (key line to its last line).
func (d *Document) blockOf(name string) (start, end int, err error) {
	k, v, err := d.service(name)
	if err != nil {
		return 0, 0, err
	}
	return d.lineStart(k.Line), d.lineStart(d.entryEnd(k, v) + 1), nil
}

// EditService runs fn, which edits service name, on a document holding
// only that service, then splices the result back in one edit.
func (d *Document) EditService(name string, fn func(*Document) error) error {
	start, end, err := d.blockOf(name)
	if err != nil {
		return err
	}
	block := string(d.src[start:end])
	if d.definesAliased(name) {
		return fn(d) // alone, the block would not know who else uses its anchors
	}
	if mini := d.standalone(block); mini != nil && fn(mini) == nil {
		edited := strings.TrimPrefix(string(mini.src), "services:\n")
		if edited == block {
			return nil
		}
		return d.replace(start, end, edited)
	}
	return fn(d)
}

// CloneServiceWith copies service src as dst after service after, with
// fn's edits made to the copy before it goes in: one full re-parse.
func (d *Document) CloneServiceWith(src, dst, after string, fn func(*Document) error) error {
	text, at, err := d.cloneText(src, dst, after)
	if err != nil {
		return err
	}
	sep := ""
	if strings.HasPrefix(text, "\n") {
		sep, text = "\n", text[1:]
	}
	if mini := d.standalone(text); mini != nil && fn(mini) == nil {
		return d.insertText(at, sep+strings.TrimPrefix(string(mini.src), "services:\n"))
	}
	if err := d.insertText(at, sep+text); err != nil {
		return err
	}
	return fn(d)
}

// CloneServicesWith copies service src once for each name in dsts, the
// copies in that order after service after, each with its edits (fns[i])
// made before it goes in: one full re-parse for all of them.
func (d *Document) CloneServicesWith(src string, dsts []string, after string, fns []func(*Document) error) error {
	var all strings.Builder
	at := -1
	for i, dst := range dsts {
		text, pos, err := d.cloneText(src, dst, after)
		if err != nil {
			return err
		}
		if at < 0 {
			at = pos
		}
		sep := ""
		if strings.HasPrefix(text, "\n") {
			sep, text = "\n", text[1:]
		}
		mini := d.standalone(text)
		if mini == nil || fns[i](mini) != nil {
			// Fall back to one at a time on the whole document.
			if all.Len() > 0 {
				if err := d.insertText(at, all.String()); err != nil {
					return err
				}
			}
			prev := after
			if i > 0 {
				prev = dsts[i-1]
			}
			for j := i; j < len(dsts); j++ {
				if err := d.CloneServiceWith(src, dsts[j], prev, fns[j]); err != nil {
					return err
				}
				prev = dsts[j]
			}
			return nil
		}
		all.WriteString(sep + strings.TrimPrefix(string(mini.src), "services:\n"))
	}
	if all.Len() == 0 {
		return nil
	}
	return d.insertText(at, all.String())
}

// definesAliased reports whether service name's block defines an anchor
// that an alias in the file uses.
func (d *Document) definesAliased(name string) bool {
	_, v, err := d.service(name)
	if err != nil {
		return false
	}
	var anchors []*yaml.Node
	var collect func(*yaml.Node)
	collect = func(n *yaml.Node) {
		if n.Anchor != "" {
			anchors = append(anchors, n)
		}
		for _, c := range n.Content {
			collect(c)
		}
	}
	collect(v)
	for _, a := range anchors {
		if d.aliased(a) {
			return true
		}
	}
	return false
}
