package planner

import "github.com/compose-scale/compose-scale/planner/pgtune"

// PGTune's arithmetic is package pgtune; these names keep the planner's
// own API (Plan.Postgres.Settings, Input.DBType) as it was.
type (
	DBType  = pgtune.DBType
	Setting = pgtune.Setting
)

const (
	OLTP           = pgtune.OLTP
	Web            = pgtune.Web
	NewestPostgres = pgtune.NewestPostgres
)

// TunedSettings and SettingSince are pgtune's tables.
var (
	TunedSettings = pgtune.TunedSettings
	SettingSince  = pgtune.SettingSince
)
