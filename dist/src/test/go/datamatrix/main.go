// datamatrix: a minimal pgx v5 and go-redis v9 client, built against each release pair by offsets.sh so that
// OffsetTableGenerator reads the fields the pgx and redis probe sets need from DWARF. It is never run.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

func main() {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, os.Getenv("DSN"))
	if err == nil {
		b := &pgx.Batch{}
		b.Queue("SELECT 1")
		c.SendBatch(ctx, b).Close()
		c.Exec(ctx, "SELECT 1")
		rows, _ := c.Query(ctx, "SELECT 1")
		rows.Close()
	}
	r := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS")})
	r.Get(ctx, "x")
	p := r.Pipeline()
	p.Get(ctx, "y")
	p.Exec(ctx)
	fmt.Println(err)
}
