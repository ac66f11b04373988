package sidekiq

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/internal/shellwords"
)

// Command is a parsed `sidekiq` invocation. Prefix is everything up to
// and including the sidekiq executable (`bundle exec sidekiq`); Other holds
// flags this tool does not manage, kept in order so an admin's `-e production`
// or `-t 25` survives a rewrite.
type Command struct {
	Prefix      []string
	Concurrency int // 0: not given (Sidekiq's default, or SIDEKIQ_CONCURRENCY from v4.1), or a variable
	// ConcurrencyVar is -c's value when it is a variable (${SIDEKIQ_THREADS}).
	ConcurrencyVar string
	Queues         []Queue
	Other          []string
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

// ParseCommand parses a service's command tokens. It accepts
// `bundle exec sidekiq ...`, `sidekiq ...`, a path to sidekiq, and the same
// wrapped in `sh -c` / `bash -c`.
func ParseCommand(tokens []string) (Command, error) {
	if len(tokens) >= 3 && isShell(tokens[0]) && tokens[len(tokens)-2] == "-c" {
		inner, err := shellwords.Split(tokens[len(tokens)-1])
		if err != nil {
			return Command{}, err
		}
		c, err := ParseCommand(inner)
		if err != nil {
			return Command{}, err
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
		return Command{}, fmt.Errorf("not a sidekiq command: %q", strings.Join(tokens, " "))
	}
	c := Command{Prefix: append([]string(nil), tokens[:at+1]...)}
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
				return Command{}, err
			}
			if err := c.setConcurrency(v); err != nil {
				return Command{}, err
			}
			c.order = append(c.order, slot{kind: slotConcurrency, tokens: args[from : i+1]})
		case strings.HasPrefix(a, "-c") && len(a) > 2 && (a[2] >= '0' && a[2] <= '9' || a[2] == '$'):
			if err := c.setConcurrency(a[2:]); err != nil {
				return Command{}, err
			}
			c.order = append(c.order, slot{kind: slotConcurrency, tokens: args[from : i+1]})
		case name == "-q" || name == "--queue" || strings.HasPrefix(a, "-q") && len(a) > 2 && a[2] != '=':
			v := a[2:] // -qpull: Ruby's OptionParser takes a short flag's value attached
			if name == "-q" || name == "--queue" {
				var err error
				if v, err = takeValue(); err != nil {
					return Command{}, err
				}
			}
			q, err := parseQueueArg(v)
			if err != nil {
				return Command{}, err
			}
			c.Queues = append(c.Queues, q)
			c.order = append(c.order, slot{kind: slotQueue, tokens: args[from : i+1]})
		case name == "-C" || name == "--config":
			// Queues and concurrency would come from a file this tool
			// cannot see, and a -q on top of it overrides its queues.
			return Command{}, fmt.Errorf("sidekiq reads its queues from a config file (%s): remove the -C flag so compose-scale can manage the queues on the command line", strings.Join(args, " "))
		default:
			c.Other = append(c.Other, a)
			c.order = append(c.order, slot{kind: slotOther, tokens: []string{a}})
		}
	}
	c.origConc, c.origQueues = c.Concurrency, append([]Queue(nil), c.Queues...)
	return c, nil
}

// setConcurrency reads a -c value. A variable (-c ${SIDEKIQ_THREADS}) is
// kept as written while the plan leaves -c alone; its value is the
// environment's, which the planner never sees, so it counts as unknown.
func (c *Command) setConcurrency(v string) error {
	if strings.HasPrefix(v, "$") {
		c.Concurrency, c.ConcurrencyVar = 0, v
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("sidekiq concurrency %q is not a positive number", v)
	}
	c.Concurrency, c.ConcurrencyVar = n, ""
	return nil
}

// DedupeQueues drops the second and later listings of a queue in one
// process, keeping the first (its place in a strict order is where the
// first listing put it). It returns the names dropped.
func (c *Command) DedupeQueues() []string {
	seen := map[string]bool{}
	var kept []Queue
	var dropped []string
	for _, q := range c.Queues {
		if seen[q.Name] {
			dropped = append(dropped, q.Name)
			continue
		}
		seen[q.Name] = true
		kept = append(kept, q)
	}
	c.Queues = kept
	return dropped
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
func (c Command) Tokens() []string {
	hasC, hasQ := false, false
	cStyle, qStyle := []string{"-c"}, []string{"-q"}
	for _, s := range c.order {
		if s.kind == slotConcurrency && !hasC {
			cStyle = flagStyle(s.tokens, "-c")
		}
		if s.kind == slotQueue && !hasQ {
			qStyle = flagStyle(s.tokens, "-q")
		}
		hasC = hasC || s.kind == slotConcurrency
		hasQ = hasQ || s.kind == slotQueue
	}
	concurrency := func() []string {
		if c.Concurrency > 0 {
			return styled(cStyle, strconv.Itoa(c.Concurrency))
		}
		return nil
	}
	queues := func() []string {
		var t []string
		for _, q := range c.Queues {
			if q.Weight > 0 {
				t = append(t, styled(qStyle, q.Name+","+strconv.Itoa(q.Weight))...)
			} else {
				t = append(t, styled(qStyle, q.Name)...)
			}
		}
		return t
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

// flagStyle is how a flag was written, so that a changed value is written
// the same way: ["-c"] for `-c 25`, ["--concurrency="] for
// `--concurrency=25`, ["-c", ""] for `-c25` (attached).
func flagStyle(tokens []string, short string) []string {
	if len(tokens) == 2 {
		return []string{tokens[0]}
	}
	t := tokens[0]
	if i := strings.Index(t, "="); i >= 0 {
		return []string{t[:i+1], ""}
	}
	if strings.HasPrefix(t, short) && len(t) > len(short) {
		return []string{short, ""}
	}
	return []string{short}
}

// styled writes a flag and its value in a style from flagStyle.
func styled(style []string, value string) []string {
	if len(style) == 2 {
		return []string{style[0] + value}
	}
	return []string{style[0], value}
}

func isShell(s string) bool {
	base := s[strings.LastIndex(s, "/")+1:]
	return base == "sh" || base == "bash" || base == "ash" || base == "dash"
}

// ConcurrencyString is -c's value as written in DB_POOL.
func (c Command) ConcurrencyString() string { return strconv.Itoa(c.Concurrency) }
