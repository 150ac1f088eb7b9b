package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
)

// driverName is the driver Open uses: SQLite's, with each connection
// keeping the statements it has prepared.
const driverName = "chancery-sqlite"

// maxCached bounds the statements one connection keeps. The programs run
// a few hundred distinct statements in all; a query built with a varying
// shape past the bound is prepared each time, as without the cache.
const maxCached = 512

func init() {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err)
	}
	sql.Register(driverName, cachingDriver{db.Driver()})
	db.Close()
}

// cachingDriver opens SQLite connections that prepare each statement
// once. database/sql prepares a query given as text every time it runs,
// and on HQ's exchange path, where a mission's pouch runs a few dozen
// small statements, SQLite's parser took a third of the time.
//
// A connection is only ever used by one goroutine at a time, so its cache
// needs no lock. A statement whose rows are still open is busy: the same
// text run again meanwhile (a query nested in its own loop) gets a
// statement of its own, closed after use.
type cachingDriver struct{ inner driver.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	in, ok := c.(inner)
	if !ok {
		c.Close()
		return nil, errors.New("sqlite: the driver's connection lacks what the statement cache needs")
	}
	return &cachingConn{inner: in, stmts: map[string]*cachedStmt{}}, nil
}

// inner is what the wrapped connection is known to do; SQLite's does all
// of it.
type inner interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.SessionResetter
	driver.Validator
	driver.Pinger
}

type cachingConn struct {
	inner inner
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	driver.Stmt
	busy bool
}

// stmt returns the kept statement for query, preparing it the first time,
// or, when the kept one is busy or the cache is full, a statement for
// this one use (one-off true), which the caller closes.
func (c *cachingConn) stmt(ctx context.Context, query string) (s *cachedStmt, oneOff bool, err error) {
	if s := c.stmts[query]; s != nil && !s.busy {
		return s, false, nil
	}
	ds, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	s = &cachedStmt{Stmt: ds}
	if _, held := c.stmts[query]; held || len(c.stmts) >= maxCached {
		return s, true, nil
	}
	c.stmts[query] = s
	return s, false, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, oneOff, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	s.busy = true
	r, err := s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	s.busy = false
	if oneOff {
		err = errors.Join(err, s.Close())
	}
	return r, err
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, oneOff, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if oneOff {
			s.Close()
		}
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: r, s: s, oneOff: oneOff}, nil
}

func (c *cachingConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.inner.Close())...)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.inner.BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, o)
}
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.inner.IsValid() }
func (c *cachingConn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }

// cachedRows hands its statement back when closed.
type cachedRows struct {
	driver.Rows
	s      *cachedStmt
	oneOff bool
	closed bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.s.busy = false
	if r.oneOff {
		err = errors.Join(err, r.s.Close())
	}
	return err
}

// The column types are SQLite's own.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}
