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
	at := len(d.src)
	blank := false
	if ak, av, err := d.service(after); err == nil {
		end := d.entryEnd(ak, av)
		at = d.lineStart(end + 1)
		blank = end < d.numLines() && isBlank(d.line(end+1)) || ak.Line > 1 && isBlank(d.line(ak.Line-1))
	} else if len(d.services.Content) >= 2 {
		k, v := d.services.Content[len(d.services.Content)-2], d.services.Content[len(d.services.Content)-1]
		at = d.lineStart(d.entryEnd(k, v) + 1)
	}
	svcIndent := strings.Repeat(" ", d.serviceIndent())
	unit := d.indentUnit()
	in := svcIndent + unit
	var b strings.Builder
	if blank {
		b.WriteString("\n")
	}
	b.WriteString(svcIndent + renderScalar(name, 0, "!!str") + ":\n")
	if s.Comment != "" {
		b.WriteString(in + "# " + s.Comment + "\n")
	}
	scalar := func(key, value string) {
		if value != "" {
			b.WriteString(in + key + ": " + renderScalar(value, 0, "") + "\n")
		}
	}
	list := func(key string, items []string) {
		if len(items) == 0 {
			return
		}
		b.WriteString(in + key + ":\n")
		for _, it := range items {
			if strings.Contains(it, "\n") {
				b.WriteString(in + unit + "- |\n")
				for _, l := range strings.Split(strings.TrimSuffix(it, "\n"), "\n") {
					if l == "" {
						b.WriteString("\n")
						continue
					}
					b.WriteString(in + unit + unit + l + "\n")
				}
				continue
			}
			b.WriteString(in + unit + "- " + renderScalar(it, 0, "!!str") + "\n")
		}
	}
	flow := func(key string, items []string) {
		if len(items) == 0 {
			return
		}
		q := make([]string, len(items))
		for i, it := range items {
			q[i] = renderScalar(it, yaml.SingleQuotedStyle, "!!str")
		}
		b.WriteString(in + key + ": [" + strings.Join(q, ", ") + "]\n")
	}
	if s.ExtendsFile != "" {
		b.WriteString(in + "extends:\n" + in + unit + "file: " + renderScalar(s.ExtendsFile, 0, "!!str") + "\n" + in + unit + "service: " + renderScalar(s.Extends, 0, "!!str") + "\n")
	} else {
		scalar("extends", s.Extends)
	}
	flow("profiles", s.Profiles)
	scalar("container_name", s.ContainerName)
	scalar("image", s.Image)
	if s.Restart == "no" {
		b.WriteString(in + "restart: \"no\"\n") // plain no reads as false
	} else {
		scalar("restart", s.Restart)
	}
	if text, ok := d.EntryText(s.EnvFileOf, "env_file"); ok && s.EnvFileOf != "" {
		b.WriteString(indented(text, in))
	} else if len(s.EnvFiles) == 1 {
		scalar("env_file", s.EnvFiles[0])
	} else {
		list("env_file", s.EnvFiles)
	}
	if len(s.Env) > 0 {
		b.WriteString(in + "environment:\n")
		for _, kv := range s.Env {
			if d.envStyle() == "list" {
				b.WriteString(in + unit + "- " + renderScalar(kv[0]+"="+kv[1], 0, "!!str") + "\n")
			} else {
				b.WriteString(in + unit + kv[0] + ": " + renderScalar(kv[1], 0, "") + "\n")
			}
		}
	}
	flow("entrypoint", s.Entrypoint)
	if s.CommandFlow {
		flow("command", s.Command)
	} else {
		list("command", s.Command)
	}
	list("ports", s.Ports)
	list("networks", s.Networks)
	list("depends_on", s.DependsOn)
	if len(s.Healthcheck) > 0 {
		b.WriteString(in + "healthcheck:\n")
		flowIn := in + unit
		q := make([]string, len(s.Healthcheck))
		for i, it := range s.Healthcheck {
			q[i] = renderScalar(it, yaml.SingleQuotedStyle, "!!str")
		}
		b.WriteString(flowIn + "test: [" + strings.Join(q, ", ") + "]\n")
	}
	return d.insertText(at, b.String())
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
