package compose

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/internal/shellwords"
	units "github.com/docker/go-units"
	"go.yaml.in/yaml/v4"
)

// Service is what a compose file says about one service, as written: no
// variable is interpolated and no env_file is read, so nothing from the
// environment or from secrets files can reach a plan or an output.
type Service struct {
	Name  string
	Line  int
	Image string
	Build bool
	// BuildContext is build's context as written ("." for build: .);
	// relative paths are from the compose file's directory.
	BuildContext string
	Command      []string // argv; a string command is split as compose splits it
	// CommandIsList records the file's form for the command.
	CommandIsList bool
	Env           map[string]string // the service's environment: entries with a value
	ShmSize       int64             // shm_size in bytes; 0 when unset
	Ports         []Port
	Replicas      int             // scale or deploy.replicas; 1 when unset
	Has           map[string]bool // the keys the service sets (after merge keys)
	// Topology, as written: who a service waits for and what other
	// containers may call it.
	DependsOn     []string // depends_on, list or map form, in file order
	ContainerName string
	Hostname      string
	EnvFiles      []string // env_file paths, relative to the compose file's directory
	// Tags are compose's merge tags on the service's keys in an override
	// file: "!override" (replace, do not merge) or "!reset" (back to the
	// default).
	Tags map[string]string
	// Disabled is scale: 0 (or deploy.replicas: 0): the service runs no
	// container.
	Disabled    bool
	NetworkMode string   // network_mode as written: "service:vpn", "host"...
	Networks    []string // the networks it joins, list or map form; nil for the default
	// Healthcheck is healthcheck.test, its words joined by spaces.
	Healthcheck string
	// Profiles are the service's profiles: `up` starts it only when one
	// is enabled; `run` starts it by name.
	Profiles []string
	// Kept are the values scalar keys had before compose-scale changed
	// them (SetKeyKeeping), by key.
	Kept map[string]string
}

// Services lists the services in file order, with merge keys (<<: *anchor)
// and extends: within the file resolved the way compose resolves them.
func (d *Document) Services() ([]Service, error) {
	var out []Service
	raws := map[string]map[string]any{}
	for i := 0; i+1 < len(d.services.Content); i += 2 {
		k, v := d.services.Content[i], d.services.Content[i+1]
		var raw map[string]any
		if err := v.Decode(&raw); err != nil {
			return nil, &Error{Path: d.Path, Line: k.Line, Msg: fmt.Sprintf("service %q: %v", k.Value, strings.TrimPrefix(err.Error(), "yaml: "))}
		}
		raws[k.Value] = raw
	}
	for i := 0; i+1 < len(d.services.Content); i += 2 {
		k, v := d.services.Content[i], d.services.Content[i+1]
		s, err := d.readService(k, v, extended(raws, k.Value, 0))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// readService reads one service from its key node, its value node (for the
// tags and kept values written on its entries) and its mapping as
// decoded, extends and merge keys resolved.
func (d *Document) readService(k, v *yaml.Node, raw map[string]any) (Service, error) {
	s := Service{Name: k.Value, Line: k.Line, Has: map[string]bool{}, Tags: map[string]string{}}
	if v.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(v.Content); j += 2 {
			if t := v.Content[j+1].Tag; t == "!override" || t == "!reset" {
				s.Tags[v.Content[j].Value] = t
			}
			if kept, ok := keptValue(v.Content[j+1]); ok {
				if s.Kept == nil {
					s.Kept = map[string]string{}
				}
				s.Kept[v.Content[j].Value] = kept
			}
		}
	}
	for key := range raw {
		s.Has[key] = true
	}
	s.Image, _ = raw["image"].(string)
	s.Build, s.BuildContext = buildOf(raw["build"])
	var err error
	if s.Command, s.CommandIsList, err = commandOf(raw["command"]); err != nil {
		return s, &Error{Path: d.Path, Line: d.KeyLine(k.Value, "command"), Msg: fmt.Sprintf("service %q: %v", k.Value, err)}
	}
	s.Env = envMap(raw["environment"])
	if v, ok := raw["shm_size"]; ok {
		if s.ShmSize, err = byteSize(v); err != nil {
			return s, &Error{Path: d.Path, Line: d.KeyLine(k.Value, "shm_size"), Msg: fmt.Sprintf("service %q: shm_size %v", k.Value, err)}
		}
	}
	if s.Ports, err = portsOf(raw["ports"]); err != nil {
		return s, &Error{Path: d.Path, Line: d.KeyLine(k.Value, "ports"), Msg: fmt.Sprintf("service %q: %v", k.Value, err)}
	}
	s.Replicas = replicasOf(raw)
	if s.Replicas == 0 && s.Tags["scale"] != "!reset" {
		s.Disabled, s.Replicas = true, 1
	}
	s.DependsOn = dependsOn(raw["depends_on"])
	s.ContainerName, _ = raw["container_name"].(string)
	s.Hostname, _ = raw["hostname"].(string)
	s.EnvFiles = envFiles(raw["env_file"])
	s.NetworkMode, _ = raw["network_mode"].(string)
	s.Networks = dependsOn(raw["networks"]) // the same two forms
	if ps, ok := raw["profiles"].([]any); ok {
		for _, p := range ps {
			s.Profiles = append(s.Profiles, scalarString(p))
		}
	}
	s.Healthcheck = healthcheckOf(raw["healthcheck"])
	return s, nil
}

// buildOf reads build: as a context path or a mapping with one (its
// context defaults to the file's folder).
func buildOf(v any) (build bool, context string) {
	switch b := v.(type) {
	case string:
		return true, b
	case map[string]any:
		if c, ok := b["context"].(string); ok {
			return true, c
		}
		return true, "."
	}
	return false, ""
}

// commandOf reads command: as a string, split as a shell would split it,
// or as a list.
func commandOf(v any) (argv []string, isList bool, err error) {
	switch c := v.(type) {
	case string:
		words, err := shellwords.Split(c)
		if err != nil {
			return nil, false, fmt.Errorf("command %v", err)
		}
		return words, false, nil
	case []any:
		for i, w := range c {
			switch w.(type) {
			case map[string]any, []any:
				return nil, true, fmt.Errorf("command entry %d is not a string (a \"key\": value inside a [...] list is a mapping): quote it", i+1)
			}
			argv = append(argv, scalarString(w))
		}
		return argv, true, nil
	}
	return nil, false, nil
}

// healthcheckOf is the healthcheck's test as one line.
func healthcheckOf(v any) string {
	hc, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	switch test := hc["test"].(type) {
	case string:
		return test
	case []any:
		words := make([]string, len(test))
		for i, w := range test {
			words[i] = scalarString(w)
		}
		return strings.Join(words, " ")
	}
	return ""
}

// extended is a service's mapping with what it extends within the file
// under it (extends: {service: base}, or extends: base), as compose merges
// them: the service's own keys win, environment and labels merge key by
// key. An extends of another file is left to compose (its keys are not
// seen here); a loop stops at a depth no real file reaches.
func extended(raws map[string]map[string]any, name string, depth int) map[string]any {
	raw := raws[name]
	var base string
	switch e := raw["extends"].(type) {
	case string:
		base = e
	case map[string]any:
		if _, other := e["file"]; !other {
			base, _ = e["service"].(string)
		}
	}
	if base == "" || raws[base] == nil || depth > 10 {
		return raw
	}
	merged := map[string]any{}
	for k, v := range extended(raws, base, depth+1) {
		merged[k] = v
	}
	for k, v := range raw {
		if k == "environment" || k == "labels" {
			if m := mergeMaps(merged[k], v); m != nil {
				merged[k] = m
				continue
			}
		}
		merged[k] = v
	}
	delete(merged, "extends")
	return merged
}

// mergeMaps merges two environment (or labels) values, in list or map
// form, later entries winning; nil when either is neither.
func mergeMaps(a, b any) map[string]any {
	toMap := func(v any) map[string]any {
		switch x := v.(type) {
		case map[string]any:
			return x
		case []any:
			m := map[string]any{}
			for _, item := range x {
				k, val, _ := strings.Cut(scalarString(item), "=")
				m[k] = val
			}
			return m
		}
		return nil
	}
	ma, mb := toMap(a), toMap(b)
	if ma == nil || mb == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range ma {
		out[k] = v
	}
	for k, v := range mb {
		out[k] = v
	}
	return out
}

// dependsOn reads depends_on in either form: a list of names (in file
// order), or a map of names to conditions (sorted).
func dependsOn(v any) []string {
	var out []string
	switch d := v.(type) {
	case []any:
		for _, x := range d {
			out = append(out, scalarString(x))
		}
	case map[string]any:
		for name := range d {
			out = append(out, name)
		}
		sort.Strings(out)
	}
	return out
}

// envFiles reads env_file: a path, a list of paths, or a list of
// {path, required} entries.
func envFiles(v any) []string {
	var out []string
	add := func(x any) {
		switch e := x.(type) {
		case string:
			out = append(out, e)
		case map[string]any:
			if p, ok := e["path"].(string); ok {
				out = append(out, p)
			}
		}
	}
	switch e := v.(type) {
	case []any:
		for _, x := range e {
			add(x)
		}
	default:
		add(e)
	}
	return out
}

// ByteSize reads a compose byte value as written ("256mb", "1g", "1048576").
func ByteSize(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	return byteSize(s)
}

// byteSize reads a compose byte value: a number of bytes or "256mb", "1g".
func byteSize(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case string:
		n, err := units.RAMInBytes(x)
		if err != nil {
			return 0, fmt.Errorf("%q is not a size", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%v is not a size", v)
}

func scalarString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// envMap reads map-style and list-style environment. Entries without a
// value (`- FOO`, `FOO:`) take theirs from the shell at run time: they are
// left out rather than resolved.
func envMap(v any) map[string]string {
	env := map[string]string{}
	switch e := v.(type) {
	case map[string]any:
		for k, val := range e {
			if val != nil {
				env[k] = scalarString(val)
			}
		}
	case []any:
		for _, item := range e {
			if k, val, ok := strings.Cut(scalarString(item), "="); ok {
				env[k] = val
			}
		}
	}
	return env
}

// envStyle is how the file writes environment: "list" or "map", by what
// most services already use (map when none has one).
func (d *Document) envStyle() string {
	if d.style != nil {
		return d.style.envStyle()
	}
	lists, maps := 0, 0
	for i := 1; i < len(d.services.Content); i += 2 {
		if _, env := mapGet(d.services.Content[i], "environment"); env != nil {
			switch env.Kind {
			case yaml.SequenceNode:
				lists++
			case yaml.MappingNode:
				maps++
			}
		}
	}
	if lists > maps {
		return "list"
	}
	return "map"
}
