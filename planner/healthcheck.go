package planner

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// sidekiqGrep finds the process-title grep of Mastodon's sidekiq
// healthcheck: `ps aux | grep '[s]idekiq\ 6'`. The digit is the Sidekiq
// major version in the title; 4.5.0 shipped `[78]`.
var sidekiqGrep = regexp.MustCompile(`\[s\]idekiq( +)(\d|\[\d+\])`)

// healthcheckChanges fixes a sidekiq healthcheck that greps for a Sidekiq
// major the planned Mastodon does not run (a file whose image tags were
// bumped without it): the container would be reported unhealthy forever.
// Only the major changes, byte-minimal; an unknown version is left alone.
func (p *planning) healthcheckChanges(sidekiq []Service) []Change {
	want := SidekiqMajor(p.Version)
	if want == 0 {
		return nil
	}
	var old, fixed string
	for _, s := range sidekiq {
		m := sidekiqGrep.FindStringSubmatch(s.Healthcheck)
		if m == nil || majorMatches(m[2], want) {
			continue
		}
		old, fixed = m[0], "[s]idekiq"+m[1]+strconv.Itoa(want)
		p.Notes = append(p.Notes, fmt.Sprintf("%s: its healthcheck greps for Sidekiq %s, but Mastodon %s runs Sidekiq %d: changed to %d, or the container is reported unhealthy", s.Name, strings.Trim(m[2], "[]"), p.Version, want, want))
		break
	}
	if old == "" {
		return nil
	}
	// Every sidekiq service: the copies were made from one of them.
	var changes []Change
	for _, pr := range p.Sidekiq {
		changes = append(changes, Change{Kind: ReplaceText, Service: pr.Name, Key: "healthcheck", Old: old, Value: fixed})
	}
	return changes
}

// majorMatches reports whether a grep token ("6", "[78]") matches major.
func majorMatches(token string, major int) bool {
	return strings.Contains(token, strconv.Itoa(major))
}
