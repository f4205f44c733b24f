package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/heraldhq/herald/config"
)

// TestDBConns: HERALD_DB_CONNS sizes the Postgres pool, 16 when unset; a
// value that is not a whole number from 4 to 1000 is refused by name.
func TestDBConns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env, flag string
		want      int
		err       bool
	}{
		{want: 16},
		{env: "40", want: 40},
		{env: "40", flag: "8", want: 8},
		{env: "4", want: 4},
		{env: "3", err: true},
		{env: "0", err: true},
		{env: "1001", err: true},
		{env: "many", err: true},
	} {
		t.Run(tc.env+"/"+tc.flag, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"HERALD_DB_CONNS": tc.env}
			var args []string
			if tc.flag != "" {
				args = []string{"-db-conns", tc.flag}
			}
			cfg, err := config.Load(args, func(k string) string { return env[k] }, io.Discard)
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), "HERALD_DB_CONNS") {
					t.Fatalf("err = %v, want one naming HERALD_DB_CONNS", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DBConns != tc.want {
				t.Fatalf("DBConns = %d, want %d", cfg.DBConns, tc.want)
			}
		})
	}
}
