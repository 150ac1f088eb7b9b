package store

import (
	"context"
	"strings"
	"unicode/utf8"

	"chancery/shared/account"
	"chancery/shared/problem"
)

// Regions lists the regions HQ groups missions by, by name.
func (d *DB) Regions(ctx context.Context) ([]string, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT name FROM regions ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// AddRegion adds a region to the list.
func (d *DB) AddRegion(ctx context.Context, by account.Actor, name string) error {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 80 {
		return problem.New(problem.Invalid, "region.bad_name")
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO regions (name) VALUES (?)", name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.New(problem.Conflict, "region.exists", "Region", name)
	}
	if err := account.Audit(ctx, tx, by, "region.add", name, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// RemoveRegion takes a region off the list; one that missions are in
// stays until they are moved.
func (d *DB) RemoveRegion(ctx context.Context, by account.Actor, name string) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM missions WHERE region = ? AND state != 'revoked'", name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return problem.New(problem.Conflict, "region.in_use", "Count", n, "Region", name)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM regions WHERE name = ?", name); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, by, "region.remove", name, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// UpdateMission changes a mission's registry entry: its name, place and
// region (put on the list, as AddMission does); its code, keys and
// history stay.
func (d *DB) UpdateMission(ctx context.Context, by account.Actor, m Mission) error {
	if err := CheckMission(m); err != nil {
		return err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := keepRegion(ctx, tx, m.Region); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, "UPDATE missions SET name = ?, country = ?, city = ?, region = ?, lat = ?, lon = ? WHERE code = ?",
		strings.TrimSpace(m.Name), m.Country, m.City, m.Region, m.Lat, m.Lon, m.Code)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.New(problem.NotFound, "mission.none", "Code", m.Code)
	}
	if err := account.Audit(ctx, tx, by, "mission.edit", m.Code, m.Name+" · "+m.Region); err != nil {
		return err
	}
	return tx.Commit()
}
