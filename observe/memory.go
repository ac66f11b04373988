package observe

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ContainerMemory is one container's memory at one reading: what docker
// compose stats shows under MEM USAGE, the container's cgroup usage less
// its reclaimable page cache. That is the figure the kernel's OOM killer
// and the droplet's memory see, shared copy-on-write pages counted once,
// which a sum of the processes' RSS would count once per Puma worker.
type ContainerMemory struct {
	Service   string `json:"service"`
	Container string `json:"container"`
	Bytes     int64  `json:"bytes"`
}

// ReadMemory reads every running container's memory once, as an admin
// would: docker compose ps for which service each container runs, then
// docker compose stats --no-stream for their memory.
func (s Source) ReadMemory() ([]ContainerMemory, error) {
	ps, err := s.run(Command{Argv: append(s.compose(), "ps", "--format", "json")}, nil)
	if err != nil {
		return nil, fmt.Errorf("docker compose ps: %v", err)
	}
	serviceOf, err := parseComposePS(ps)
	if err != nil {
		return nil, err
	}
	stats, err := s.run(Command{Argv: append(s.compose(), "stats", "--no-stream", "--format", "json")}, nil)
	if err != nil {
		return nil, fmt.Errorf("docker compose stats: %v", err)
	}
	return parseComposeStats(stats, serviceOf)
}

// jsonLines reads what docker compose prints for --format json: one
// object a line (compose 2.21 and later), or one array (before).
func jsonLines[T any](out string) ([]T, error) {
	out = strings.TrimSpace(out)
	var list []T
	if strings.HasPrefix(out, "[") {
		err := json.Unmarshal([]byte(out), &list)
		return list, err
	}
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, nil
}

// parseComposePS maps each container, by name and by ID, to its service.
func parseComposePS(out string) (map[string]string, error) {
	rows, err := jsonLines[struct{ ID, Name, Service string }](out)
	if err != nil {
		return nil, fmt.Errorf("docker compose ps --format json does not read as JSON: %v", err)
	}
	m := map[string]string{}
	for _, r := range rows {
		svc := Printable(r.Service)
		m[r.Name] = svc
		if len(r.ID) >= 12 {
			m[r.ID[:12]] = svc // stats shows the short ID
		}
	}
	return m, nil
}

func parseComposeStats(out string, serviceOf map[string]string) ([]ContainerMemory, error) {
	rows, err := jsonLines[struct{ ID, Name, MemUsage string }](out)
	if err != nil {
		return nil, fmt.Errorf("docker compose stats --format json does not read as JSON: %v", err)
	}
	var list []ContainerMemory
	for _, r := range rows {
		svc := serviceOf[r.Name]
		if svc == "" && len(r.ID) >= 12 {
			svc = serviceOf[r.ID[:12]]
		}
		if svc == "" {
			continue // not one of the project's containers
		}
		used, _, _ := strings.Cut(r.MemUsage, "/")
		n, err := dockerSize(strings.TrimSpace(used))
		if err != nil {
			return nil, fmt.Errorf("docker compose stats: %s's memory %q: %v", Printable(r.Name), Printable(clip(r.MemUsage)), err)
		}
		list = append(list, ContainerMemory{Service: svc, Container: Printable(r.Name), Bytes: n})
	}
	return list, nil
}

// dockerSize reads docker's sizes: binary units from units.BytesSize
// ("512MiB", "1.944GiB") or decimal ones from units.HumanSize ("1.5GB").
func dockerSize(s string) (int64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("not a size")
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size")
	}
	mult := map[string]float64{
		"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	}[strings.TrimSpace(s[i:])]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q", Printable(s[i:]))
	}
	b := n * mult
	if b > math.MaxInt64/2 {
		return 0, fmt.Errorf("more than any machine has")
	}
	return int64(b), nil
}
