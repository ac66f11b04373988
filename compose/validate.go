package compose

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
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
// variables validate without them.
func Validate(path string, text []byte) error {
	return ValidateFiles(File{path, text})
}

// File is a compose file's name and text.
type File struct {
	Path string
	Text []byte
}

// ValidateFiles loads files together, later ones overriding earlier ones,
// as docker compose -f a -f b would.
func ValidateFiles(files ...File) error {
	path := files[0].Path
	var all []byte
	var configs []types.ConfigFile
	for _, f := range files {
		configs = append(configs, types.ConfigFile{Filename: f.Path, Content: f.Text})
		all = append(all, f.Text...)
	}
	text := all
	dir := filepath.Dir(path)
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: configs,
		Environment: types.Mapping{},
	}
	_, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("compose-scale-check", true)
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.SkipInclude = true
		o.ResolvePaths = false
		if o.Interpolate != nil {
			o.Interpolate.LookupValue = placeholders(text)
		}
	})
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "validating "+path+": ")
		return &Error{Path: path, Msg: fmt.Sprintf("docker compose would reject this file: %s", msg)}
	}
	return nil
}

var varUse = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)?`)

// placeholders answers variable lookups without reading the environment:
// a variable the file gives a default (${PORT:-3000}) is "unset", so
// compose uses the default; any other gets "1", a value that passes
// wherever compose expects a string, a number or a port.
func placeholders(text []byte) func(string) (string, bool) {
	hasDefault := map[string]bool{}
	for _, m := range varUse.FindAllSubmatch(text, -1) {
		if len(m[2]) > 0 {
			hasDefault[string(m[1])] = true
		}
	}
	return func(name string) (string, bool) {
		if hasDefault[name] {
			return "", false
		}
		return "1", true
	}
}
