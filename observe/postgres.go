package observe

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PostgresSQL is what observe asks Postgres, in a read-only transaction:
// max_connections, the client backends by state and by application, what
// the active ones wait on (the compendium seed's wait-event summary), and
// the settings a plan tunes. Each row starts with its kind.
func PostgresSQL(settings []string) string {
	quoted := make([]string, len(settings))
	for i, s := range settings {
		quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	in := "''"
	if len(quoted) > 0 {
		in = strings.Join(quoted, ",")
	}
	const clients = "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
	return strings.Join([]string{
		"BEGIN READ ONLY;",
		"SELECT 'max', current_setting('max_connections');",
		"SELECT 'state', coalesce(state, 'unknown'), count(*) " + clients + " GROUP BY 2;",
		"SELECT 'app', coalesce(nullif(application_name, ''), '(none)'), count(*) " + clients + " GROUP BY 2;",
		"SELECT 'wait', coalesce(wait_event_type, 'CPU'), coalesce(wait_event, 'running'), count(*) " + clients + " AND state = 'active' GROUP BY 2, 3;",
		"SELECT 'setting', name, current_setting(name) FROM pg_settings WHERE name IN (" + in + ");",
		"COMMIT;",
	}, "\n") + "\n"
}

// PsqlArgs are psql's output options for PostgresSQL's rows: unaligned,
// tuples only, tab-separated, no psqlrc, stop on the first error.
var PsqlArgs = []string{"-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-f", "-"}

// Postgres is one reading of Postgres's connections.
type Postgres struct {
	MaxConnections int               `json:"max_connections"`
	Clients        int               `json:"clients"`
	ByState        map[string]int    `json:"by_state"`
	ByApplication  map[string]int    `json:"by_application"`
	Waits          []Wait            `json:"waits"`
	Settings       map[string]string `json:"settings"`
}

// Wait is what active backends wait on.
type Wait struct {
	Type  string `json:"type"`
	Event string `json:"event"`
	Count int    `json:"count"`
}

// ParsePostgres reads psql's answer to PostgresSQL.
func ParsePostgres(out string) (Postgres, error) {
	pg := Postgres{ByState: map[string]int{}, ByApplication: map[string]int{}, Settings: map[string]string{}}
	seen := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		switch {
		case len(f) == 2 && f[0] == "max":
			pg.MaxConnections, _ = strconv.Atoi(f[1])
			seen = true
		case len(f) == 3 && f[0] == "state":
			n, _ := strconv.Atoi(f[2])
			pg.ByState[Printable(f[1])] += n
			pg.Clients += n
		case len(f) == 3 && f[0] == "app":
			n, _ := strconv.Atoi(f[2])
			pg.ByApplication[Printable(f[1])] += n
		case len(f) == 4 && f[0] == "wait":
			n, _ := strconv.Atoi(f[3])
			pg.Waits = append(pg.Waits, Wait{Type: Printable(f[1]), Event: Printable(f[2]), Count: n})
		case len(f) == 3 && f[0] == "setting":
			pg.Settings[f[1]] = Printable(f[2])
		}
	}
	if !seen {
		return pg, fmt.Errorf("no max_connections in the answer: %s", Printable(firstLine(out)))
	}
	sort.Slice(pg.Waits, func(i, j int) bool {
		if pg.Waits[i].Count != pg.Waits[j].Count {
			return pg.Waits[i].Count > pg.Waits[j].Count
		}
		return pg.Waits[i].Type+pg.Waits[i].Event < pg.Waits[j].Type+pg.Waits[j].Event
	})
	return pg, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
