package compose

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

func init() {
	// compose-go warns through logrus (obsolete `version:` and the like);
	// this tool reports problems itself, on one line each.
	logrus.SetOutput(io.Discard)
}

// Validate loads text with compose-go, as docker compose would, and reports
// what it rejects. No env_file is read and no variable takes a value from the
// environment: every ${VAR} is given a placeholder, so files that need
// variables validate without them (ValidateWith gives them their values).
func Validate(path string, text []byte) error {
	return ValidateFiles(File{Path: path, Text: text})
}

// File is a compose file's name and text.
type File struct {
	Path string
	Text []byte
	// Dir is the directory the file is in on disk, which what compose
	// resolves relative to the project (an extends' file:, an env_file)
	// is read from; "" is Path's directory. The CLI names files as the
	// user did (Path) while working in another directory.
	Dir string
}

// projectDir is the directory compose resolves files' relative paths in.
func projectDir(files []File) string {
	if files[0].Dir != "" {
		return files[0].Dir
	}
	return filepath.Dir(files[0].Path)
}

// ValidateFiles loads files together, later ones overriding earlier ones,
// as docker compose -f a -f b would, with placeholders for every variable.
func ValidateFiles(files ...File) error {
	_, err := ValidateWith(nil, files...)
	return err
}

// ValidateWith loads files as docker compose would with vars (the .env file
// and the environment). A variable that has no value here is not a
// refusal: the file may be run where it has one. It gets a placeholder,
// and a warning naming it is returned. vars nil gives every variable a
// placeholder, without warnings.
func ValidateWith(vars *Vars, files ...File) (warnings []string, err error) {
	path := files[0].Path
	var all []byte
	var configs []types.ConfigFile
	for _, f := range files {
		configs = append(configs, types.ConfigFile{Filename: f.Path, Content: f.Text})
		all = append(all, f.Text...)
	}
	dir := projectDir(files)
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: configs,
		Environment: types.Mapping{},
	}
	lookup, unset, requiredVars := lookupFor(vars, all)
	// Every profile: a service `up` does not start is still checked,
	// since `run` starts it.
	_, err = loader.LoadWithContext(context.Background(), details, loaderOptions(lookup, []string{"*"}))
	if names := unset(); vars != nil && len(names) > 0 {
		var required, plain []string
		for _, n := range names {
			if requiredVars[n] {
				required = append(required, n)
			} else {
				plain = append(plain, n)
			}
		}
		if len(plain) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: %s not set in %s or the environment: docker compose would use an empty string; compose-scale checked the file with a placeholder", path, nameList(plain), orNoDotEnv(vars.DotEnv)))
		}
		if len(required) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: %s not set in %s or the environment, and the file requires it (${VAR:?}): docker compose refuses to start without it; compose-scale checked the file with a placeholder", path, nameList(required), orNoDotEnv(vars.DotEnv)))
		}
	}
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "validating "+path+": ")
		msg = vars.scrub(msg, Names(all))
		return warnings, &Error{Path: path, Msg: fmt.Sprintf("docker compose would reject this file: %s", msg)}
	}
	return warnings, nil
}

func orNoDotEnv(name string) string {
	if name == "" {
		return "a .env file (there is none)"
	}
	return name
}

var pathUse = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}/`)

var varUse = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?`)

// placeholder is a value that passes where a variable of that name is
// used: an address for *_IP, *_BIND, *_ADDR (ports: ${HTTP_IP}:80:80),
// else "1", which passes as a string, a number or a port.
func placeholder(name string) string {
	n := strings.ToUpper(name)
	for _, w := range []string{"_IP", "IP_", "BIND", "ADDR", "LISTEN"} {
		if strings.Contains(n, w) || n == "IP" {
			return "127.0.0.1"
		}
	}
	return "1"
}

// lookupFor answers compose-go's variable lookups: vars' value when it has
// one; "unset" for a variable the file gives a default (${PORT:-3000}), so
// compose uses the default; else "1", a value that passes wherever compose
// expects a string, a number or a port. unset lists the variables that got
// a placeholder although the file did not say what an unset one means.
func lookupFor(vars *Vars, text []byte) (lookup func(string) (string, bool), unset func() []string, requiredVars map[string]bool) {
	requiredVars = map[string]bool{}
	hasDefault := map[string]bool{}
	for _, m := range varUse.FindAllSubmatch(text, -1) {
		switch op := string(m[2]); op {
		case "-", ":-":
			hasDefault[string(m[1])] = true
		case "?", ":?":
			requiredVars[string(m[1])] = true
		}
	}
	// A variable that starts a path (${BASE}/redis:/data) gets ".", so
	// the path stays a path and is not taken for a named volume.
	paths := map[string]bool{}
	for _, m := range pathUse.FindAllSubmatch(text, -1) {
		paths[string(m[1])] = true
	}
	missing := map[string]bool{}
	lookup = func(name string) (string, bool) {
		if v, ok := vars.Lookup(name); ok {
			return v, true
		}
		if hasDefault[name] {
			return "", false
		}
		missing[name] = true
		if paths[name] {
			return ".", true
		}
		return placeholder(name), true
	}
	unset = func() []string {
		var out []string
		for n := range missing {
			out = append(out, n)
		}
		sort.Strings(out)
		return out
	}
	return lookup, unset, requiredVars
}

// nameList is "variable A is" or "variables A, B are".
func nameList(names []string) string {
	if len(names) == 1 {
		return "variable " + names[0] + " is"
	}
	return "variables " + strings.Join(names, ", ") + " are"
}

// loaderOptions load a file as docker compose reads it, interpolated
// with lookup, without what would reach outside the text given: no
// environment or label files resolved, no include, paths as written.
func loaderOptions(lookup func(string) (string, bool), profiles []string) func(*loader.Options) {
	return func(o *loader.Options) {
		o.SetProjectName("compose-scale-check", true)
		o.Profiles = profiles
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.SkipInclude = true
		o.ResolvePaths = false
		if o.Interpolate != nil {
			o.Interpolate.LookupValue = lookup
		}
	}
}

// LoadMerged loads files as docker compose does (later files override
// earlier ones, merge tags honoured) and returns each service as compose
// runs it: what an override file must add up to. Variables get vars'
// values or placeholders, as in ValidateWith; no env_file is read.
func LoadMerged(vars *Vars, files ...File) ([]Service, error) {
	var configs []types.ConfigFile
	var all []byte
	for _, f := range files {
		configs = append(configs, types.ConfigFile{Filename: f.Path, Content: f.Text})
		all = append(all, f.Text...)
	}
	lookup, _, _ := lookupFor(vars, all)
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir: projectDir(files), ConfigFiles: configs, Environment: types.Mapping{},
	}, loaderOptions(lookup, nil))
	if err != nil {
		return nil, err
	}
	var out []Service
	all2 := project.AllServices()
	for name, s := range all2 {
		svc := Service{Name: name, Image: s.Image, Command: []string(s.Command), Env: map[string]string{},
			ContainerName: s.ContainerName, Hostname: s.Hostname, NetworkMode: s.NetworkMode, Replicas: 1, Profiles: s.Profiles}
		for k, v := range s.Environment {
			if v != nil {
				svc.Env[k] = *v
			}
		}
		if s.Scale != nil {
			svc.Replicas = *s.Scale
		}
		if s.Deploy != nil && s.Deploy.Replicas != nil {
			svc.Replicas = *s.Deploy.Replicas
		}
		if svc.Replicas == 0 {
			svc.Disabled = true
		}
		for i, p := range s.Ports {
			svc.Ports = append(svc.Ports, Port{Index: i, HostIP: p.HostIP, Published: p.Published, Target: strconv.Itoa(int(p.Target)), Protocol: p.Protocol})
		}
		out = append(out, svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
