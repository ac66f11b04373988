// Package architecture holds no code: its test keeps the import rules of
// docs/architecture.md true, failing when a package imports one it must
// not.
package architecture
