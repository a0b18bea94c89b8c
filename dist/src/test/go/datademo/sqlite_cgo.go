//go:build cgo

package main

import _ "github.com/mattn/go-sqlite3"

// mattn/go-sqlite3 (cgo) as backend "sqlite3".
func init() {
	openers = append(openers, func() {
		if *sqliteFile != "" {
			addBackend("sqlite3", "sqlite3", *sqliteFile+"-mattn", false)
		}
	})
}
