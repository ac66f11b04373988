package compose

import "strings"

// OverrideNames maps a compose file name to the override file docker
// compose reads beside it when no -f is given.
var OverrideNames = map[string][]string{
	"compose.yaml":        {"compose.override.yaml", "compose.override.yml"},
	"compose.yml":         {"compose.override.yml", "compose.override.yaml"},
	"docker-compose.yaml": {"docker-compose.override.yaml", "docker-compose.override.yml"},
	"docker-compose.yml":  {"docker-compose.override.yml", "docker-compose.override.yaml"},
}

// Merge applies an override file's services to a base file's, the way
// compose merges them for what the planner needs: image, command,
// shm_size and replicas replace; environment merges by variable; ports
// add up; a service only in the override is added.
func Merge(base, over []Service) []Service {
	out := append([]Service(nil), base...)
	index := map[string]int{}
	for i, s := range out {
		index[s.Name] = i
	}
	for _, o := range over {
		i, ok := index[o.Name]
		if !ok {
			index[o.Name] = len(out)
			out = append(out, o)
			continue
		}
		m := out[i]
		if o.Has["image"] {
			m.Image = o.Image
		}
		if o.Has["build"] {
			m.Build = true
		}
		if o.Has["command"] {
			m.Command, m.CommandIsList = o.Command, o.CommandIsList
		}
		if o.Has["shm_size"] {
			m.ShmSize = o.ShmSize
		}
		if o.Has["scale"] || o.Has["deploy"] {
			m.Replicas, m.Disabled = o.Replicas, o.Disabled
		}
		if o.Tags["scale"] == "!reset" {
			m.Replicas, m.Disabled = 1, false
		}
		if o.Has["container_name"] {
			m.ContainerName = o.ContainerName
		}
		if o.Has["hostname"] {
			m.Hostname = o.Hostname
		}
		if o.Has["network_mode"] {
			m.NetworkMode = o.NetworkMode
		}
		if o.Has["healthcheck"] {
			m.Healthcheck = o.Healthcheck
		}
		if o.Has["env_file"] {
			m.EnvFiles = o.EnvFiles
		}
		m.DependsOn = append(append([]string(nil), m.DependsOn...), o.DependsOn...)
		if len(o.Env) > 0 {
			env := map[string]string{}
			for k, v := range m.Env {
				env[k] = v
			}
			for k, v := range o.Env {
				env[k] = v
			}
			m.Env = env
		}
		switch o.Tags["ports"] {
		case "!override":
			m.Ports = o.Ports // replaced, not added to
		case "!reset":
			m.Ports = nil
		}
		if len(o.Ports) > 0 && o.Tags["ports"] == "" {
			// The override's ports follow the base's, numbered on.
			ports := append([]Port(nil), m.Ports...)
			for _, p := range o.Ports {
				p.Index = len(m.Ports) + p.Index
				ports = append(ports, p)
			}
			m.Ports = ports
		}
		out[i] = m
	}
	return out
}

// Masks says whether an override's service would mask an edit to key (a
// service key such as "command", or "environment/DB_POOL") made in the
// base file; the line is for the warning.
func Masks(over []Service, service, key string) (bool, int) {
	for _, o := range over {
		if o.Name != service {
			continue
		}
		if name, ok := strings.CutPrefix(key, "environment/"); ok {
			_, set := o.Env[name]
			return set, o.Line
		}
		return o.Has[key], o.Line
	}
	return false, 0
}
