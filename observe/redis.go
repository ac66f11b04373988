// Package observe reads a running Mastodon instance: Sidekiq's state in
// Redis and the connections in Postgres. It only reads (a read-only Lua
// script for Redis, a read-only transaction for Postgres) and hands facts
// to the planner; it never plans.
package observe

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// sidekiqScript gathers, in one read-only round trip, what Sidekiq keeps
// in Redis (Sidekiq's lib/sidekiq/api.rb: Queue, ProcessSet, the sorted
// sets, Stats): the queues with
// their size and oldest job, each process's heartbeat hash, the retry,
// schedule and dead sets, the counters, and the server's clock. KEYS are
// not declared: the names come from the sets it reads, as Sidekiq's own
// API does. ARGV[1] is the REDIS_NAMESPACE prefix ("" or "ns:").
const sidekiqScript = `
local ns = ARGV[1]
local out = {queues = {}, processes = {}}
for _, q in ipairs(redis.call('SMEMBERS', ns .. 'queues')) do
  local oldest = redis.call('LINDEX', ns .. 'queue:' .. q, -1)
  table.insert(out.queues, {name = q, size = redis.call('LLEN', ns .. 'queue:' .. q), oldest = oldest or ''})
end
for _, id in ipairs(redis.call('SMEMBERS', ns .. 'processes')) do
  table.insert(out.processes, {identity = id, fields = redis.call('HGETALL', ns .. id)})
end
out.retry = redis.call('ZCARD', ns .. 'retry')
out.schedule = redis.call('ZCARD', ns .. 'schedule')
out.dead = redis.call('ZCARD', ns .. 'dead')
out.processed = redis.call('GET', ns .. 'stat:processed') or '0'
out.failed = redis.call('GET', ns .. 'stat:failed') or '0'
out.time = redis.call('TIME')
return cjson.encode(out)
`

// SidekiqArgs are redis-cli's arguments that run sidekiqScript: EVAL_RO
// (Redis 7: the server itself refuses a write), or EVAL on older servers.
func SidekiqArgs(namespace string, readOnly bool) []string {
	cmd := "EVAL_RO"
	if !readOnly {
		cmd = "EVAL"
	}
	if namespace != "" && !strings.HasSuffix(namespace, ":") {
		namespace += ":"
	}
	return []string{"--raw", cmd, sidekiqScript, "0", namespace}
}

// Queue is one Sidekiq queue as observed.
type Queue struct {
	Name string `json:"name"`
	Size int    `json:"size"`
	// LatencySeconds is the age of the oldest job (0 for an empty queue).
	LatencySeconds float64 `json:"latency_seconds"`
}

// Process is one Sidekiq process's heartbeat.
type Process struct {
	Identity    string         `json:"identity"` // hostname:pid:nonce
	Hostname    string         `json:"hostname"`
	PID         int            `json:"pid"`
	Queues      []string       `json:"queues"`
	Weights     map[string]int `json:"weights,omitempty"`
	Concurrency int            `json:"concurrency"`
	Busy        int            `json:"busy"`
	RSSKB       int64          `json:"rss_kb"`
	Version     string         `json:"version,omitempty"` // Sidekiq's, from 7
	Quiet       bool           `json:"quiet,omitempty"`
}

// Sidekiq is one reading of Sidekiq's state.
type Sidekiq struct {
	At        float64   `json:"at"` // the server's clock, seconds
	Queues    []Queue   `json:"queues"`
	Processes []Process `json:"processes"`
	Retry     int       `json:"retry"`
	Scheduled int       `json:"scheduled"`
	Dead      int       `json:"dead"`
	Processed int64     `json:"processed"`
	Failed    int64     `json:"failed"`
	// Major is the Sidekiq major version the data is in: 8 when
	// concurrency is its own field, 7 when info carries a version, else 6.
	Major int `json:"sidekiq_major"`
	// Expired counts the identities still in the processes set whose
	// heartbeat hash has expired (the process died without cleaning up):
	// Sidekiq's own API skips them, and so does this reading.
	Expired int `json:"expired_processes,omitempty"`
	// Unusable lists the numbers that cannot be true (negative, past
	// int64, not numbers): a reading with any is not planned from.
	Unusable []string `json:"unusable,omitempty"`
}

// ParseSidekiq reads sidekiqScript's answer. The three shapes Sidekiq
// writes:
//   - 6.x (launcher.rb v6.4.1, heartbeat: hmset info busy beat rtt_us
//     quiet rss): info holds concurrency and the queues (weights folded);
//     enqueued_at is float seconds.
//   - 7.x (launcher.rb v7.3.9:171, to_data :247): info adds weights,
//     version; enqueued_at float seconds.
//   - 8.x (launcher.rb v8.0.9, heartbeat hset with "concurrency" as its
//     own field; to_data adds capsules {name: {concurrency, mode,
//     weights}}): enqueued_at is integer milliseconds (client.rb
//     v8.0.9:286).
func ParseSidekiq(raw string) (Sidekiq, error) {
	var in struct {
		Queues []struct {
			Name   string `json:"name"`
			Size   int    `json:"size"`
			Oldest string `json:"oldest"`
		} `json:"queues"`
		Processes []struct {
			Identity string   `json:"identity"`
			Fields   []string `json:"fields"`
		} `json:"processes"`
		Retry     int      `json:"retry"`
		Schedule  int      `json:"schedule"`
		Dead      int      `json:"dead"`
		Processed string   `json:"processed"`
		Failed    string   `json:"failed"`
		Time      []string `json:"time"`
	}
	// cjson writes an empty Lua table as {}: make the lists parse.
	raw = strings.NewReplacer(`"queues":{}`, `"queues":[]`, `"processes":{}`, `"processes":[]`, `"fields":{}`, `"fields":[]`).Replace(strings.TrimSpace(raw))
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return Sidekiq{}, fmt.Errorf("the Sidekiq data in Redis does not read as expected: %v", err)
	}
	var s Sidekiq
	if len(in.Time) == 2 {
		sec, _ := strconv.ParseFloat(in.Time[0], 64)
		usec, _ := strconv.ParseFloat(in.Time[1], 64)
		s.At = sec + usec/1e6
	}
	s.Retry, s.Scheduled, s.Dead = in.Retry, in.Schedule, in.Dead
	s.Processed = count("stat:processed", in.Processed, &s.Unusable)
	s.Failed = count("stat:failed", in.Failed, &s.Unusable)
	s.Major = 6
	for _, p := range in.Processes {
		f := map[string]string{}
		for i := 0; i+1 < len(p.Fields); i += 2 {
			f[p.Fields[i]] = p.Fields[i+1]
		}
		if f["info"] == "" {
			s.Expired++ // the heartbeat expired: Sidekiq's ProcessSet skips it too
			continue
		}
		proc, major, bad := parseProcess(p.Identity, f)
		s.Major = max(s.Major, major)
		s.Processes = append(s.Processes, proc)
		s.Unusable = append(s.Unusable, bad...)
	}
	for _, q := range in.Queues {
		age, ok := latency(q.Oldest, s.At)
		if !ok {
			s.Unusable = append(s.Unusable, fmt.Sprintf("queue %s: its oldest job's enqueued_at is not a time", Printable(q.Name)))
		}
		s.Queues = append(s.Queues, Queue{Name: Printable(q.Name), Size: q.Size, LatencySeconds: age})
	}
	sort.Slice(s.Queues, func(i, j int) bool { return s.Queues[i].Name < s.Queues[j].Name })
	sort.Slice(s.Processes, func(i, j int) bool { return s.Processes[i].Identity < s.Processes[j].Identity })
	return s, nil
}

func parseProcess(identity string, f map[string]string) (Process, int, []string) {
	p := Process{Identity: Printable(identity)}
	var bad []string
	var info struct {
		Hostname    string          `json:"hostname"`
		PID         json.Number     `json:"pid"`
		Concurrency json.Number     `json:"concurrency"`
		Queues      []string        `json:"queues"`
		Weights     json.RawMessage `json:"weights"`
		Version     string          `json:"version"`
		Capsules    map[string]struct {
			Concurrency json.Number    `json:"concurrency"`
			Weights     map[string]int `json:"weights"`
		} `json:"capsules"`
	}
	if err := json.Unmarshal([]byte(f["info"]), &info); err != nil {
		bad = append(bad, fmt.Sprintf("%s: its heartbeat's info does not read as JSON", p.Identity))
	}
	p.Hostname, p.Queues, p.Version = Printable(info.Hostname), printableAll(info.Queues), Printable(info.Version)
	p.PID = int(count(p.Identity+": pid", string(info.PID), &bad))
	major := 6
	if info.Version != "" {
		major = 7
		if n, err := strconv.Atoi(strings.SplitN(info.Version, ".", 2)[0]); err == nil {
			major = n
		}
	}
	p.Concurrency = int(count(p.Identity+": concurrency", string(info.Concurrency), &bad))
	if c, ok := f["concurrency"]; ok { // Sidekiq 8: its own field
		p.Concurrency = int(count(p.Identity+": concurrency", c, &bad))
		major = max(major, 8)
	}
	if p.Concurrency == 0 && len(info.Capsules) > 0 {
		for _, c := range info.Capsules {
			p.Concurrency += int(count(p.Identity+": a capsule's concurrency", string(c.Concurrency), &bad))
		}
	}
	// Weights: 7 and 8 write [{queue: weight}] per capsule.
	var weights []map[string]int
	if json.Unmarshal(info.Weights, &weights) == nil {
		for _, w := range weights {
			for q, n := range w {
				if n > 0 {
					if p.Weights == nil {
						p.Weights = map[string]int{}
					}
					p.Weights[Printable(q)] = n
				}
			}
		}
	}
	p.Busy = int(count(p.Identity+": busy", f["busy"], &bad))
	p.RSSKB = count(p.Identity+": rss", f["rss"], &bad)
	if p.RSSKB > 1<<40 { // a petabyte in kB: no process has it
		bad = append(bad, fmt.Sprintf("%s: rss is %d kB, more than any machine has", p.Identity, p.RSSKB))
		p.RSSKB = 0
	}
	p.Quiet = f["quiet"] == "true"
	return p, major, bad
}

// latency is the age of a job at now, from its enqueued_at (or
// created_at): Sidekiq up to 7 writes float seconds, 8 integer
// milliseconds (client.rb v8.0.9:286), and other clients whole seconds.
// A decimal point tells nothing, so the magnitude does: epoch seconds
// stay below 1e11 until the year 5138, epoch milliseconds have been above
// it since 1973. ok is false for a stamp that is not a number.
func latency(job string, now float64) (age float64, ok bool) {
	if job == "" || now == 0 {
		return 0, true
	}
	var j struct {
		EnqueuedAt json.Number `json:"enqueued_at"`
		CreatedAt  json.Number `json:"created_at"`
	}
	d := json.NewDecoder(strings.NewReader(job))
	d.UseNumber()
	if d.Decode(&j) != nil {
		return 0, true // not a job Sidekiq wrote: its age is unknown, not wrong
	}
	ts := j.EnqueuedAt
	if ts == "" {
		ts = j.CreatedAt
	}
	if ts == "" {
		return 0, true
	}
	at, err := strconv.ParseFloat(string(ts), 64)
	if err != nil || at < 0 || math.IsInf(at, 0) {
		return 0, false
	}
	if at >= 1e11 {
		at /= 1000
	}
	return max(0, now-at), true
}
