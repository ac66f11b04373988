package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/internal/shellwords"
)

// SidekiqCommand is a parsed `sidekiq` invocation. Prefix is everything up to
// and including the sidekiq executable (`bundle exec sidekiq`); Other holds
// flags this tool does not manage, kept in order so an admin's `-e production`
// or `-t 25` survives a rewrite.
type SidekiqCommand struct {
	Prefix      []string
	Concurrency int // 0: not given (Sidekiq's default, or SIDEKIQ_CONCURRENCY from v4.1)
	Queues      []Queue
	Other       []string
	// Shell is set when the command is `sh -c "... sidekiq ..."`: it holds
	// the tokens before the script, so the rewrite keeps the wrapper.
	Shell []string
	// order remembers where the parsed command had its -c and -q flags
	// among the others, so re-rendering an unchanged command gives the
	// same argv and a changed one changes only those flags.
	order      []slot
	origConc   int
	origQueues []Queue
}

type slotKind int

const (
	slotOther slotKind = iota
	slotConcurrency
	slotQueue
)

type slot struct {
	kind   slotKind
	tokens []string // as written: kept when the value did not change
}

// IsSidekiq reports whether a command runs Sidekiq: its executable, or the
// one in a `sh -c` script. Whether its flags parse is another question,
// answered (with an error that names the service) when the plan is made.
func IsSidekiq(tokens []string) bool {
	for i, t := range tokens {
		if t[strings.LastIndex(t, "/")+1:] == "sidekiq" {
			return true
		}
		if i > 0 && tokens[i-1] == "-c" && isShell(tokens[0]) {
			for _, w := range strings.Fields(t) {
				if w[strings.LastIndex(w, "/")+1:] == "sidekiq" {
					return true
				}
			}
		}
	}
	return false
}

// ParseSidekiqCommand parses a service's command tokens. It accepts
// `bundle exec sidekiq ...`, `sidekiq ...`, a path to sidekiq, and the same
// wrapped in `sh -c` / `bash -c`.
func ParseSidekiqCommand(tokens []string) (SidekiqCommand, error) {
	if len(tokens) >= 3 && isShell(tokens[0]) && tokens[len(tokens)-2] == "-c" {
		inner, err := shellwords.Split(tokens[len(tokens)-1])
		if err != nil {
			return SidekiqCommand{}, err
		}
		c, err := ParseSidekiqCommand(inner)
		if err != nil {
			return SidekiqCommand{}, err
		}
		c.Shell = append([]string(nil), tokens[:len(tokens)-1]...)
		return c, nil
	}
	at := -1
	for i, t := range tokens {
		base := t[strings.LastIndex(t, "/")+1:]
		if base == "sidekiq" {
			at = i
			break
		}
		if strings.HasPrefix(t, "-") && i > 0 && tokens[i-1] != "bundle" {
			break
		}
	}
	if at < 0 {
		return SidekiqCommand{}, fmt.Errorf("not a sidekiq command: %q", strings.Join(tokens, " "))
	}
	c := SidekiqCommand{Prefix: append([]string(nil), tokens[:at+1]...)}
	args := tokens[at+1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		from := i
		name, val, hasVal := strings.Cut(a, "=")
		takeValue := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("sidekiq flag %s has no value", a)
			}
			i++
			return args[i], nil
		}
		switch {
		case name == "-c" || name == "--concurrency":
			v, err := takeValue()
			if err != nil {
				return SidekiqCommand{}, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return SidekiqCommand{}, fmt.Errorf("sidekiq concurrency %q is not a positive number", v)
			}
			c.Concurrency = n
			c.order = append(c.order, slot{kind: slotConcurrency, tokens: args[from : i+1]})
		case strings.HasPrefix(a, "-c") && len(a) > 2 && a[2] >= '0' && a[2] <= '9':
			n, err := strconv.Atoi(a[2:])
			if err != nil || n < 1 {
				return SidekiqCommand{}, fmt.Errorf("sidekiq concurrency %q is not a positive number", a[2:])
			}
			c.Concurrency = n
			c.order = append(c.order, slot{kind: slotConcurrency, tokens: args[from : i+1]})
		case name == "-q" || name == "--queue":
			v, err := takeValue()
			if err != nil {
				return SidekiqCommand{}, err
			}
			q, err := parseQueueArg(v)
			if err != nil {
				return SidekiqCommand{}, err
			}
			c.Queues = append(c.Queues, q)
			c.order = append(c.order, slot{kind: slotQueue, tokens: args[from : i+1]})
		case name == "-C" || name == "--config":
			// Queues and concurrency would come from a file this tool
			// cannot see, and a -q on top of it overrides its queues.
			return SidekiqCommand{}, fmt.Errorf("sidekiq reads its queues from a config file (%s): remove the -C flag so compose-scale can manage the queues on the command line", strings.Join(args, " "))
		default:
			c.Other = append(c.Other, a)
			c.order = append(c.order, slot{kind: slotOther, tokens: []string{a}})
		}
	}
	c.origConc, c.origQueues = c.Concurrency, append([]Queue(nil), c.Queues...)
	return c, nil
}

func parseQueueArg(v string) (Queue, error) {
	name, w, hasW := strings.Cut(v, ",")
	if name == "" {
		return Queue{}, fmt.Errorf("empty sidekiq queue name in %q", v)
	}
	q := Queue{Name: name}
	if hasW {
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 {
			return Queue{}, fmt.Errorf("sidekiq queue weight %q in %q is not a number", w, v)
		}
		q.Weight = n
	}
	return q, nil
}

// Tokens renders the command back to argv form. Flags keep the places they
// had when the command was parsed: -c where -c was, the queues where the
// first -q was. A command that had neither gets `-c N -q ...` after the
// sidekiq executable, before any other flags.
func (c SidekiqCommand) Tokens() []string {
	concurrency := func() []string {
		if c.Concurrency > 0 {
			return []string{"-c", strconv.Itoa(c.Concurrency)}
		}
		return nil
	}
	queues := func() []string {
		var t []string
		for _, q := range c.Queues {
			if q.Weight > 0 {
				t = append(t, "-q", q.Name+","+strconv.Itoa(q.Weight))
			} else {
				t = append(t, "-q", q.Name)
			}
		}
		return t
	}
	hasC, hasQ := false, false
	for _, s := range c.order {
		hasC = hasC || s.kind == slotConcurrency
		hasQ = hasQ || s.kind == slotQueue
	}
	t := append([]string(nil), c.Prefix...)
	if !hasC {
		t = append(t, concurrency()...)
	}
	if !hasQ && !hasC {
		t = append(t, queues()...)
	}
	if c.order == nil {
		t = append(t, c.Other...)
	}
	sameC := c.Concurrency == c.origConc
	sameQ := len(c.Queues) == len(c.origQueues)
	for i := range c.Queues {
		sameQ = sameQ && c.Queues[i] == c.origQueues[i]
	}
	cDone, qDone := false, false
	for _, s := range c.order {
		switch s.kind {
		case slotOther:
			t = append(t, s.tokens...)
		case slotConcurrency:
			// Unchanged: every occurrence as written (the last wins, as
			// in Sidekiq). Changed: the new value once, where the first was.
			switch {
			case sameC:
				t = append(t, s.tokens...)
			case !cDone:
				t = append(t, concurrency()...)
			}
			if !cDone && !hasQ {
				t = append(t, queues()...)
			}
			cDone = true
		case slotQueue:
			switch {
			case sameQ:
				t = append(t, s.tokens...)
			case !qDone:
				t = append(t, queues()...)
			}
			qDone = true
		}
	}
	if c.Shell != nil {
		return append(append([]string(nil), c.Shell...), shellwords.Join(t))
	}
	return t
}

func isShell(s string) bool {
	base := s[strings.LastIndex(s, "/")+1:]
	return base == "sh" || base == "bash" || base == "ash" || base == "dash"
}
