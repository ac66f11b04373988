package compose

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/template"
)

// Vars are the values docker compose interpolates a file with: the .env
// file beside it (or the one --env-file names), with the process
// environment over it, as docker compose gives the shell precedence.
//
// They are for reading only: to tell the Mastodon version behind
// ${MASTODON_VERSION}, to compare ports, to validate as docker compose
// would. Nothing interpolated is ever written into a file or a report:
// callers get values to decide with and print names, never values.
type Vars struct {
	// DotEnv is the file the values came from, as the user would name it;
	// "" when there is none.
	DotEnv string
	file   map[string]string
	lookup func(string) (string, bool) // the process environment
}

// NewVars reads dotenvText (the .env file named dotenvName; nil when there
// is none) over the process environment lookupEnv. The .env file may refer
// to the environment (${HOME}), as docker compose allows.
func NewVars(dotenvName string, dotenvText []byte, lookupEnv func(string) (string, bool)) (*Vars, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	v := &Vars{DotEnv: dotenvName, file: map[string]string{}, lookup: lookupEnv}
	if dotenvText != nil {
		m, err := dotenv.UnmarshalBytesWithLookup(dotenvText, lookupEnv)
		if err != nil {
			// The parser's message quotes the line, which may hold a
			// secret: say where, not what.
			return nil, fmt.Errorf("%s: docker compose cannot read this .env file either (%s); fix it, or name another with --env-file", dotenvName, scrubParseError(err))
		}
		v.file = m
	}
	return v, nil
}

var lineOfError = regexp.MustCompile(`line (\d+)`)

func scrubParseError(err error) string {
	if m := lineOfError.FindString(err.Error()); m != "" {
		return "a syntax error at " + m
	}
	return "a syntax error"
}

// Lookup is a variable's value: the environment's, else the .env file's.
func (v *Vars) Lookup(name string) (string, bool) {
	if v == nil {
		return "", false
	}
	if val, ok := v.lookup(name); ok {
		return val, true
	}
	val, ok := v.file[name]
	return val, ok
}

// Source says where a variable's value comes from, for a report: the .env
// file's name or "the environment"; "" when it is unset.
func (v *Vars) Source(name string) string {
	if v == nil {
		return ""
	}
	if _, ok := v.lookup(name); ok {
		return "the environment"
	}
	if _, ok := v.file[name]; ok {
		return v.DotEnv
	}
	return ""
}

// Interpolate resolves s as docker compose does (${VAR}, ${VAR:-d},
// ${VAR-d}, ${VAR:?err}, ${VAR:+alt}, $$). ok is false when a variable
// that s needs has no value (compose would use "" or refuse).
func (v *Vars) Interpolate(s string) (out string, ok bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	// ${VAR:-d} and ${VAR-d} say what an unset VAR means: only a
	// variable used without such a fallback and unset leaves s unknown.
	fallback := map[string]bool{}
	for _, m := range varUse.FindAllStringSubmatch(s, -1) {
		has := m[2] == "-" || m[2] == ":-"
		if prev, seen := fallback[m[1]]; seen {
			has = has && prev
		}
		fallback[m[1]] = has
	}
	ok = true
	out, err := template.SubstituteWithOptions(s, func(name string) (string, bool) {
		val, set := v.Lookup(name)
		if !set && !fallback[name] {
			ok = false
		}
		return val, set
	}, template.WithoutLogging)
	if err != nil {
		return s, false
	}
	return out, ok
}

// Names lists the variables a text refers to, sorted.
func Names(text []byte) []string {
	seen := map[string]bool{}
	for _, m := range varUse.FindAllSubmatch(text, -1) {
		seen[string(m[1])] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// scrub replaces every value the variables hold (of four characters or
// more, so that "1" or "on" do not blank out a message) by the variable's
// name, so that an error message quoting an interpolated value cannot
// print a secret.
func (v *Vars) scrub(msg string, names []string) string {
	if v == nil {
		return msg
	}
	type kv struct{ name, val string }
	var vals []kv
	for _, n := range names {
		if val, ok := v.Lookup(n); ok && len(val) >= 4 {
			vals = append(vals, kv{n, val})
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i].val) > len(vals[j].val) })
	for _, x := range vals {
		msg = strings.ReplaceAll(msg, x.val, "${"+x.name+"}")
	}
	return msg
}
