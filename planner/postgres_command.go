package planner

import (
	"fmt"
	"strings"
)

// PostgresCommand is a parsed `postgres -c key=value ...` command, the way
// the official image takes server settings. Args keeps every argument group
// in order so flags the admin set by hand survive a rewrite untouched.
type PostgresCommand struct {
	Prefix []string // up to and including the postgres executable
	Args   []PostgresArg
}

// PostgresArg is one argument group: a setting (`-c name=value`,
// `--name=value`) or anything else, kept verbatim.
type PostgresArg struct {
	Tokens []string
	Name   string // normalised setting name; "" for a non-setting argument
	Value  string
}

// ParsePostgresCommand parses a db service's command. No command at all is
// the image's default, plain `postgres`.
func ParsePostgresCommand(tokens []string) (PostgresCommand, error) {
	if len(tokens) == 0 {
		return PostgresCommand{Prefix: []string{"postgres"}}, nil
	}
	at := -1
	for i, t := range tokens {
		if t[strings.LastIndex(t, "/")+1:] == "postgres" {
			at = i
			break
		}
	}
	if at < 0 {
		if strings.HasPrefix(tokens[0], "-") {
			// The image's entrypoint prepends postgres to a command that
			// starts with a flag.
			at = -1
		} else {
			return PostgresCommand{}, fmt.Errorf("the db command %q does not run postgres: compose-scale can only add settings to a `postgres -c ...` command", strings.Join(tokens, " "))
		}
	}
	c := PostgresCommand{Prefix: append([]string(nil), tokens[:at+1]...)}
	args := tokens[at+1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-c" && i+1 < len(args):
			name, val, ok := splitSetting(args[i+1])
			if !ok {
				return PostgresCommand{}, fmt.Errorf("postgres flag -c %q is not name=value", args[i+1])
			}
			c.Args = append(c.Args, PostgresArg{Tokens: []string{a, args[i+1]}, Name: name, Value: val})
			i++
		case strings.HasPrefix(a, "-c") && len(a) > 2:
			name, val, ok := splitSetting(a[2:])
			if !ok {
				return PostgresCommand{}, fmt.Errorf("postgres flag %q is not -cname=value", a)
			}
			c.Args = append(c.Args, PostgresArg{Tokens: []string{a}, Name: name, Value: val})
		case strings.HasPrefix(a, "--") && strings.Contains(a, "="):
			name, val, _ := splitSetting(a[2:])
			c.Args = append(c.Args, PostgresArg{Tokens: []string{a}, Name: name, Value: val})
		case a == "-N" && i+1 < len(args): // postgres's own short flag for max_connections
			c.Args = append(c.Args, PostgresArg{Tokens: []string{a, args[i+1]}, Name: "max_connections", Value: args[i+1]})
			i++
		default:
			c.Args = append(c.Args, PostgresArg{Tokens: []string{a}})
		}
	}
	return c, nil
}

// splitSetting reads "name=value" or "name = value" (admins' files write
// -c 'max_connections = 200'; fixtures/handsplit-v3.4), normalising the
// name as postgres does.
func splitSetting(s string) (name, value string, ok bool) {
	n, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", false
	}
	name = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(n), "-", "_"))
	value = strings.TrimSpace(v)
	if len(value) >= 2 && (value[0] == '\'' && value[len(value)-1] == '\'') {
		value = value[1 : len(value)-1]
	}
	return name, value, name != ""
}

// Get returns the value of a setting; the last occurrence wins, as in
// postgres.
func (c PostgresCommand) Get(name string) (string, bool) {
	val, found := "", false
	for _, a := range c.Args {
		if a.Name == name {
			val, found = a.Value, true
		}
	}
	return val, found
}

// Set gives a setting a value: the first occurrence is rewritten in place as
// `-c name=value` (unless it already says that value), later duplicates are
// dropped, and a new setting is appended.
func (c *PostgresCommand) Set(name, value string) {
	var out []PostgresArg
	done := false
	for _, a := range c.Args {
		if a.Name != name {
			out = append(out, a)
			continue
		}
		if done {
			continue
		}
		done = true
		if a.Value != value {
			a = PostgresArg{Tokens: []string{"-c", name + "=" + value}, Name: name, Value: value}
		}
		out = append(out, a)
	}
	if !done {
		out = append(out, PostgresArg{Tokens: []string{"-c", name + "=" + value}, Name: name, Value: value})
	}
	c.Args = out
}

// Tokens renders the command back to argv form.
func (c PostgresCommand) Tokens() []string {
	t := append([]string(nil), c.Prefix...)
	for _, a := range c.Args {
		t = append(t, a.Tokens...)
	}
	return t
}

// Manage makes the settings named in managed exactly want, in want's order:
// a setting already there is updated in place, a new one goes right after
// the managed setting before it, and a managed setting no longer wanted
// (max_worker_processes after a move to fewer than 4 CPUs) is removed.
// Arguments that are not managed settings stay where they are.
func (c *PostgresCommand) Manage(managed map[string]bool, want []Setting) {
	wanted := map[string]bool{}
	for _, s := range want {
		wanted[s.Name] = true
	}
	var kept []PostgresArg
	for _, a := range c.Args {
		if a.Name == "" || !managed[a.Name] || wanted[a.Name] {
			kept = append(kept, a)
		}
	}
	c.Args = kept
	index := func(name string) int {
		for i, a := range c.Args {
			if a.Name == name {
				return i
			}
		}
		return -1
	}
	for i, s := range want {
		if index(s.Name) >= 0 {
			c.Set(s.Name, s.Value)
			continue
		}
		at := len(c.Args)
		if i > 0 {
			at = index(want[i-1].Name) + 1
		} else {
			for j, a := range c.Args {
				if managed[a.Name] {
					at = j
					break
				}
			}
		}
		arg := PostgresArg{Tokens: []string{"-c", s.Name + "=" + s.Value}, Name: s.Name, Value: s.Value}
		c.Args = append(c.Args[:at], append([]PostgresArg{arg}, c.Args[at:]...)...)
	}
}
