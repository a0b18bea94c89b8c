//go:build !gopath

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"
)

var (
	pool *pgxpool.Pool
	rdb  *redis.Client
)

func init() {
	openers = append(openers, func() {
		if *pgDSN != "" {
			addBackend("pgx", "pgx", *pgDSN, true)
			var err error
			pool, err = pgxpool.New(context.Background(), *pgDSN)
			if err != nil {
				log.Fatalf("pgxpool: %v", err)
			}
			http.HandleFunc("/pgx/", pgxHandler)
		}
		if *mysqlDSN != "" {
			addBackend("mysql", "mysql", *mysqlDSN, false)
		}
		if *sqliteFile != "" {
			addBackend("sqlite", "sqlite", *sqliteFile+"-modernc", false)
		}
		if *redisAddr != "" {
			rdb = redis.NewClient(&redis.Options{Addr: *redisAddr, DB: 3, Protocol: 2, DisableIdentity: true})
			if err := rdb.Ping(context.Background()).Err(); err != nil {
				log.Fatalf("redis: %v", err)
			}
			http.HandleFunc("/redis/", redisHandler)
		}
	})
}

func pgxHandler(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var err error
	switch strings.TrimPrefix(r.URL.Path, "/pgx/") {
	case "select":
		var rows pgx.Rows
		rows, err = pool.Query(ctx,
			"SELECT id, name FROM items WHERE name = 'pgx-secret-51aa' OR id IN (1, 2, 3) ORDER BY id")
		if err == nil {
			for rows.Next() {
			}
			rows.Close()
			err = rows.Err()
		}
	case "exec":
		_, err = pool.Exec(ctx, "UPDATE items SET name = 'pgx-update-secret-2d7e' WHERE id = 999")
	case "queryrow":
		var name string
		err = pool.QueryRow(ctx, "SELECT name FROM items WHERE id = $1", 2).Scan(&name)
	case "batch":
		b := &pgx.Batch{}
		b.Queue("SELECT name FROM items WHERE id = 1")
		b.Queue("UPDATE items SET name = 'pgx-batch-secret-e0f1' WHERE id = 999")
		b.Queue("SELECT count(*) FROM items")
		err = pool.SendBatch(ctx, b).Close()
	case "syntax":
		_, serr := pool.Exec(ctx, "SELEC name FROM items WHERE name = 'pgx-syntax-secret-93bd'")
		if serr == nil {
			err = fmt.Errorf("syntax error expected")
		}
	case "one":
		var name string
		err = pool.QueryRow(ctx, "SELECT name FROM items WHERE id = 1").Scan(&name)
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

func redisHandler(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var err error
	switch strings.TrimPrefix(r.URL.Path, "/redis/") {
	case "getset":
		key := "session:" + r.URL.Query().Get("id")
		if err = rdb.Set(ctx, key, "redis-secret-c4d2", time.Minute).Err(); err == nil {
			err = rdb.Get(ctx, key).Err()
		}
	case "pipeline":
		pipe := rdb.Pipeline()
		pipe.Incr(ctx, "counter:redis-key-secret-17ab")
		pipe.Expire(ctx, "counter:redis-key-secret-17ab", time.Minute)
		pipe.Get(ctx, "counter:redis-key-secret-17ab")
		_, err = pipe.Exec(ctx)
	case "missing":
		if gerr := rdb.Get(ctx, "missing:redis-missing-secret-8e3f").Err(); !errors.Is(gerr, redis.Nil) {
			err = fmt.Errorf("redis.Nil expected, got %v", gerr)
		}
	case "one":
		err = rdb.Get(ctx, "counter:redis-key-secret-17ab").Err()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
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
