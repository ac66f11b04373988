package observe

import (
	"encoding/json"
	"fmt"
	"strings"
)

// VersionLabel is the label Mastodon's published images carry (docker's
// metadata-action sets it to the release tag, "v4.3.2").
const VersionLabel = "org.opencontainers.image.version"

// InstanceVersion is what the running instance says of its Mastodon
// version, as text for the planner to read: a label's value, or the
// contents of lib/mastodon/version.rb.
type InstanceVersion struct {
	Label     string // the VersionLabel of the service's container
	VersionRB string // lib/mastodon/version.rb, read in the container
	From      string // "sidekiq's container (label org.opencontainers.image.version)"
}

// ReadVersion asks the running instance, service by service (Sidekiq's
// first: its version decides the queues), as an admin would: docker
// compose ps for the service's container, docker inspect for the labels
// it runs with (its image's, so the image the container was created from,
// not whatever the tag names since a later pull), else
// lib/mastodon/version.rb read in it with docker compose exec (the
// official images' working directory is /opt/mastodon). An error says why
// nothing could be read.
func (s Source) ReadVersion(services []string) (InstanceVersion, error) {
	ps, err := s.run(Command{Argv: append(s.compose(), "ps", "--format", "json")}, nil)
	if err != nil {
		return InstanceVersion{}, fmt.Errorf("docker compose ps: %v", err)
	}
	rows, err := jsonLines[struct{ ID, Service, State string }](ps)
	if err != nil {
		return InstanceVersion{}, fmt.Errorf("docker compose ps --format json does not read as JSON: %v", err)
	}
	var errs []string
	for _, svc := range services {
		id := ""
		for _, r := range rows {
			if r.Service == svc && (r.State == "" || r.State == "running") {
				id = r.ID
				break
			}
		}
		if id == "" {
			continue
		}
		out, err := s.run(Command{Argv: []string{"docker", "inspect", "--format", "{{json .Config.Labels}}", id}}, nil)
		if err == nil {
			var labels map[string]string
			if json.Unmarshal([]byte(strings.TrimSpace(out)), &labels) == nil && labels[VersionLabel] != "" {
				return InstanceVersion{Label: Printable(labels[VersionLabel]), From: fmt.Sprintf("%s's running container (label %s)", svc, VersionLabel)}, nil
			}
		} else {
			errs = append(errs, "docker inspect: "+err.Error())
		}
		out, err = s.run(Command{Argv: append(s.compose(), "exec", "-T", svc, "cat", "lib/mastodon/version.rb")}, nil)
		if err == nil && strings.Contains(out, "def minor") {
			return InstanceVersion{VersionRB: out, From: svc + "'s running container (lib/mastodon/version.rb)"}, nil
		}
		if err != nil {
			errs = append(errs, svc+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return InstanceVersion{}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return InstanceVersion{}, fmt.Errorf("none of %s is running", strings.Join(services, ", "))
}
