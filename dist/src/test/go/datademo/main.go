// datademo: the service of the data-layer end-to-end tests. Its handlers talk to databases through database/sql
// (every driver registered in this build), pgx's native API and go-redis, so that each request gives one server span
// with the client spans of its queries beneath it.
//
// This file and sqlite_gopath.go build in GOPATH mode with Debian's Go 1.19, lib/pq and mattn/go-sqlite3
// (-tags gopath); modules.go adds pgx (stdlib and native), go-sql-driver/mysql, modernc.org/sqlite and go-redis in
// module builds. The tests build mattn/go-sqlite3 with its libsqlite3 tag (Debian's libsqlite3) to save the
// amalgamation's compile time.
//
// Handlers (every literal below is a secret the tests look for in everything the agent exported):
//
//	/sql/{backend}/select    one query with a string literal and an IN list
//	/sql/{backend}/commit    BEGIN, INSERT, COMMIT
//	/sql/{backend}/rollback  BEGIN, INSERT, ROLLBACK
//	/sql/{backend}/syntax    a statement with a syntax error (answers 200: the error is the point)
//	/sql/{backend}/prepared  PREPARE once, run three times
//	/sql/{backend}/one       one query (the benchmark's request)
//	/pgx/{select,exec,queryrow,batch,syntax}, /redis/{getset,pipeline,missing} (modules.go)
//
// Backends: postgres (lib/pq), sqlite3 (mattn/go-sqlite3), and in module builds pgx (pgx's stdlib driver), mysql,
// sqlite (modernc.org/sqlite). Each is opened when its flag is given.
//
// Usage: datademo [-addr 127.0.0.1:0] [-pg DSN] [-mysql DSN] [-sqlite FILE] [-redis ADDR]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	_ "github.com/lib/pq"
)

// A database/sql backend: a driver with its placeholder style.
type backend struct {
	db     *sql.DB
	dollar bool // $1 placeholders (PostgreSQL) instead of ?
}

var (
	backendsMu sync.Mutex
	backends   = map[string]*backend{}
	// openers add backends once the flags are parsed (modules.go and sqlite_gopath.go register theirs).
	openers    []func()
	pgDSN      = flag.String("pg", "", "PostgreSQL key=value DSN (lib/pq; pgx uses it too)")
	mysqlDSN   = flag.String("mysql", "", "go-sql-driver/mysql DSN")
	sqliteFile = flag.String("sqlite", "", "SQLite database file")
	redisAddr  = flag.String("redis", "", "Redis address host:port")
)

func addBackend(name, driver, dsn string, dollar bool) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		log.Fatalf("open %s: %v", name, err)
	}
	if strings.HasPrefix(driver, "sqlite") {
		db.SetMaxOpenConns(1) // one writer: no "database is locked" under concurrent requests
	}
	if err := db.Ping(); err != nil {
		log.Fatalf("ping %s: %v", name, err)
	}
	backendsMu.Lock()
	backends[name] = &backend{db: db, dollar: dollar}
	backendsMu.Unlock()
}

func (b *backend) placeholder() string {
	if b.dollar {
		return "$1"
	}
	return "?"
}

func sqlHandler(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/sql/"), "/")
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	backendsMu.Lock()
	b := backends[parts[0]]
	backendsMu.Unlock()
	if b == nil {
		http.Error(w, "no backend "+parts[0], http.StatusNotFound)
		return
	}
	ctx := r.Context()
	var err error
	switch parts[1] {
	case "select":
		err = selectRows(ctx, b.db)
	case "commit":
		err = insertInTx(ctx, b.db, "commit-secret-9b1c", true)
	case "rollback":
		err = insertInTx(ctx, b.db, "rollback-secret-44de", false)
	case "syntax":
		_, serr := b.db.ExecContext(ctx, "SELEC name FROM items WHERE name = 'syntax-secret-0c2e'")
		if serr == nil {
			err = fmt.Errorf("syntax error expected")
		}
	case "prepared":
		err = prepared(ctx, b)
	case "one":
		var name string
		err = b.db.QueryRowContext(ctx, "SELECT name FROM items WHERE id = 1").Scan(&name)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func selectRows(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx,
		"SELECT id, name FROM items WHERE name = 'select-secret-7f3a' OR id IN (1, 2, 3) ORDER BY id")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
	}
	return rows.Err()
}

func insertInTx(ctx context.Context, db *sql.DB, secret string, commit bool) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, name) VALUES (1000, '"+secret+"')"); err != nil {
		tx.Rollback()
		return err
	}
	if commit {
		return tx.Commit()
	}
	return tx.Rollback()
}

func prepared(ctx context.Context, b *backend) error {
	stmt, err := b.db.PrepareContext(ctx, "SELECT name FROM items WHERE id = "+b.placeholder())
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := 1; i <= 3; i++ {
		var name string
		if err := stmt.QueryRowContext(ctx, i).Scan(&name); err != nil {
			return err
		}
	}
	return nil
}

// setUp creates and fills the table of every backend (before the agent traces anything).
func setUp() {
	for name, b := range backends {
		for _, q := range []string{
			"DROP TABLE IF EXISTS items",
			"CREATE TABLE items (id INTEGER, name VARCHAR(64))",
			"INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')",
		} {
			if _, err := b.db.Exec(q); err != nil {
				log.Fatalf("set up %s: %s: %v", name, q, err)
			}
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	if *pgDSN != "" {
		addBackend("postgres", "postgres", *pgDSN, true)
	}
	for _, open := range openers {
		open()
	}
	setUp()
	http.HandleFunc("/sql/", sqlHandler)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s pid=%d\n", ln.Addr(), os.Getpid())
	log.Fatal(http.Serve(ln, nil))
}
