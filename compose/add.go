package compose

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// NewService is a service to add to a file, in compose terms; AddService
// writes it in the file's style (indentation, environment as list or map).
type NewService struct {
	Comment string // one comment line above its keys
	// Extends names a service of the same file this one extends: it
	// follows that service's image, env_file and environment as they
	// change.
	Extends string
	// ExtendsFile is the file that defines Extends, when it is another
	// (an override's service extending the base file's web).
	ExtendsFile string
	Profiles    []string // profiles: a service `up` does not start
	// ContainerName is its own container_name: one it extends a
	// container_name from would clash with that running container.
	ContainerName string
	Image         string
	Restart       string
	// EnvFiles are env_file paths; EnvFileOf, when set, names a service
	// whose env_file entry is copied as written (required: flags and
	// variables included), EnvFiles being the fallback when that entry
	// is not its own (inherited through an anchor).
	EnvFiles    []string
	EnvFileOf   string
	Env         [][2]string // in order
	Entrypoint  []string
	Command     []string // a list; an item with newlines is a literal block
	CommandFlow bool     // a one-line list
	Ports       []string
	Networks    []string
	DependsOn   []string
	Healthcheck []string
}

// AddService adds a service after service after (or at the end of the
// services), separated by a blank line when the file separates services
// so. A service of that name must not exist.
func (d *Document) AddService(name, after string, s NewService) error {
	if k, _ := mapGet(d.services, name); k != nil {
		return &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("cannot add service %q: it exists", name)}
	}
	at, blank := d.addAt(after)
	text := d.newServiceText(name, s)
	if blank {
		text = "\n" + text
	}
	return d.insertText(at, text)
}

// addAt is where a service added after service after goes (the end of
// the services when there is no such service), and whether the file
// separates services with a blank line there.
func (d *Document) addAt(after string) (at int, blank bool) {
	at = len(d.src)
	if ak, av, err := d.service(after); err == nil {
		end := d.entryEnd(ak, av)
		return d.lineStart(end + 1), end < d.numLines() && isBlank(d.line(end+1)) || ak.Line > 1 && isBlank(d.line(ak.Line-1))
	}
	if len(d.services.Content) >= 2 {
		k, v := d.services.Content[len(d.services.Content)-2], d.services.Content[len(d.services.Content)-1]
		at = d.lineStart(d.entryEnd(k, v) + 1)
	}
	return at, false
}

// newServiceText renders s in the file's indentation and environment
// style, keys in the order an admin writes them.
func (d *Document) newServiceText(name string, s NewService) string {
	svcIndent := strings.Repeat(" ", d.serviceIndent())
	w := &blockWriter{in: svcIndent + d.indentUnit(), unit: d.indentUnit()}
	w.b.WriteString(svcIndent + renderScalar(name, 0, "!!str") + ":\n")
	if s.Comment != "" {
		w.b.WriteString(w.in + "# " + s.Comment + "\n")
	}
	if s.ExtendsFile != "" {
		w.b.WriteString(w.in + "extends:\n" + w.in + w.unit + "file: " + renderScalar(s.ExtendsFile, 0, "!!str") + "\n" + w.in + w.unit + "service: " + renderScalar(s.Extends, 0, "!!str") + "\n")
	} else {
		w.scalar("extends", s.Extends)
	}
	w.flow("profiles", s.Profiles)
	w.scalar("container_name", s.ContainerName)
	w.scalar("image", s.Image)
	if s.Restart == "no" {
		w.b.WriteString(w.in + "restart: \"no\"\n") // plain no reads as false
	} else {
		w.scalar("restart", s.Restart)
	}
	if text, ok := d.EntryText(s.EnvFileOf, "env_file"); ok && s.EnvFileOf != "" {
		w.b.WriteString(indented(text, w.in))
	} else if len(s.EnvFiles) == 1 {
		w.scalar("env_file", s.EnvFiles[0])
	} else {
		w.list("env_file", s.EnvFiles)
	}
	if len(s.Env) > 0 {
		w.b.WriteString(w.in + "environment:\n")
		for _, kv := range s.Env {
			if d.envStyle() == "list" {
				w.b.WriteString(w.in + w.unit + "- " + renderScalar(kv[0]+"="+kv[1], 0, "!!str") + "\n")
			} else {
				w.b.WriteString(w.in + w.unit + kv[0] + ": " + renderScalar(kv[1], 0, "") + "\n")
			}
		}
	}
	w.flow("entrypoint", s.Entrypoint)
	if s.CommandFlow {
		w.flow("command", s.Command)
	} else {
		w.list("command", s.Command)
	}
	w.list("ports", s.Ports)
	w.list("networks", s.Networks)
	w.list("depends_on", s.DependsOn)
	if len(s.Healthcheck) > 0 {
		w.b.WriteString(w.in + "healthcheck:\n")
		w.in += w.unit
		w.flow("test", s.Healthcheck)
	}
	return w.b.String()
}

// blockWriter writes a service's entries at indent in, nesting by unit.
type blockWriter struct {
	b        strings.Builder
	in, unit string
}

func (w *blockWriter) scalar(key, value string) {
	if value != "" {
		w.b.WriteString(w.in + key + ": " + renderScalar(value, 0, "") + "\n")
	}
}

// list writes a block sequence; an item with newlines is a literal block.
func (w *blockWriter) list(key string, items []string) {
	if len(items) == 0 {
		return
	}
	w.b.WriteString(w.in + key + ":\n")
	for _, it := range items {
		if !strings.Contains(it, "\n") {
			w.b.WriteString(w.in + w.unit + "- " + renderScalar(it, 0, "!!str") + "\n")
			continue
		}
		w.b.WriteString(w.in + w.unit + "- |\n")
		for _, l := range strings.Split(strings.TrimSuffix(it, "\n"), "\n") {
			if l == "" {
				w.b.WriteString("\n")
				continue
			}
			w.b.WriteString(w.in + w.unit + w.unit + l + "\n")
		}
	}
}

// flow writes a one-line sequence of single-quoted strings.
func (w *blockWriter) flow(key string, items []string) {
	if len(items) == 0 {
		return
	}
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = renderScalar(it, yaml.SingleQuotedStyle, "!!str")
	}
	w.b.WriteString(w.in + key + ": [" + strings.Join(q, ", ") + "]\n")
}

// serviceIndent is the column of the services' keys (2 in most files).
func (d *Document) serviceIndent() int {
	if len(d.services.Content) > 0 {
		return d.services.Content[0].Column - 1
	}
	return 2
}

// RemoveEnv undoes SetEnv and SetEnvKeeping: an entry SetEnvKeeping
// changed gets its kept text back; otherwise KEY is deleted from the
// service's own environment (list or map form) when its value is value.
// It leaves anything else alone.
func (d *Document) RemoveEnv(service, key, value string) error {
	if restored, err := d.restoreKept(service, key, value); restored || err != nil {
		return err
	}
	_, sv, err := d.service(service)
	if err != nil {
		return err
	}
	ek, ev := mapGet(sv, "environment")
	if ek == nil || ev.Style&yaml.FlowStyle != 0 {
		return nil
	}
	switch ev.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(ev.Content); i += 2 {
			k, v := ev.Content[i], ev.Content[i+1]
			if k.Value == key && v.Value == value {
				if len(ev.Content) == 2 {
					return d.removeEntry(ek)
				}
				return d.removeEntry(k)
			}
		}
	case yaml.SequenceNode:
		for _, item := range ev.Content {
			if item.Value == key+"="+value {
				if len(ev.Content) == 1 {
					return d.removeEntry(ek)
				}
				return d.replace(d.lineStart(item.Line), d.lineStart(item.Line+1), "")
			}
		}
	}
	return nil
}
