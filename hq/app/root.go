package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"chancery/shared/account"
	"chancery/shared/cli"
	"chancery/shared/durable"
	"chancery/shared/problem"
	"chancery/shared/root"
	"chancery/sync/exchange"
)

const rootUsage = `chancery-hq root: HQ's root of trust (see docs/keys.md).

Off line, on the machine that holds the root keys (no HQ database):
  chancery-hq root keygen --out FILE          make a root key
  chancery-hq root sign --out FILE --key KEYFILE [--key KEYFILE]...
        [--online FILE] [--previous FILE] [--root-key KEYFILE|PUBLIC]... [--threshold N]
                                              write the next root statement, or add
                                              signatures to FILE if it exists

On HQ:
  chancery-hq root online --out FILE [--new]  write HQ's online keys for signing
                                              (--new: make the next ones)
  chancery-hq root install FILE               take a signed statement; new keys it
                                              certifies are in use within seconds
  chancery-hq root show                       the versions installed
`

func rootCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, rootUsage)
	}
	switch args[0] {
	case "keygen":
		fs := flag.NewFlagSet("chancery-hq root keygen", flag.ContinueOnError)
		fs.SetOutput(stderr)
		out := fs.String("out", "", "where to write the new root key (kept off the HQ server)")
		if err := fs.Parse(args[1:]); err != nil {
			return cli.ErrUsage
		}
		if *out == "" {
			return cli.Usage("cli.keygen_usage")
		}
		pub, err := root.NewKey(*out)
		if err != nil {
			return err
		}
		cli.Say(stdout, "cli.root_key", "File", *out, "ID", root.KeyID(pub), "Public", base64.StdEncoding.EncodeToString(pub))
		return nil
	case "sign":
		return rootSign(args[1:], stdout, stderr)
	case "online", "install", "show":
	default:
		return fmt.Errorf("%w: %s", errUsage, rootUsage)
	}
	var out string
	var fresh bool
	c, rest, err := parse("root "+args[0], args[1:], stderr, func(fs *flag.FlagSet) {
		if args[0] == "online" {
			fs.StringVar(&out, "out", "", "where to write HQ's online public keys")
			fs.BoolVar(&fresh, "new", false, "make HQ's next online keys, for a rotation")
		}
	})
	if err != nil {
		return err
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	switch args[0] {
	case "online":
		if out == "" || len(rest) > 0 {
			return fmt.Errorf("%w: root online --out FILE [--new]", errUsage)
		}
		on := w.db.Online()
		if fresh {
			if on, err = w.db.NewOnlineKeys(ctx, account.System); err != nil {
				return err
			}
		}
		b, _ := json.MarshalIndent(on, "", "  ")
		if err := durable.WriteFile(out, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
			return err
		}
		what := "HQ's online keys in use"
		if fresh {
			what = "HQ's next online keys (they wait until a statement certifies them)"
		}
		cli.Say(stdout, "cli.root_online", "What", what, "File", out, "Fingerprint", exchange.Fingerprint(on.Signing[0]))
	case "install":
		if len(rest) != 1 {
			return fmt.Errorf("%w: root install FILE", errUsage)
		}
		b, err := os.ReadFile(rest[0])
		if err != nil {
			return err
		}
		rotated, err := w.db.InstallRoot(ctx, account.System, b)
		if err != nil {
			return problem.Shown(err)
		}
		_, st, _ := root.Parse(b)
		cli.Say(stdout, "cli.root_installed", "Version", fmt.Sprint(st.Version))
		if rotated {
			cli.Say(stdout, "cli.root_rotated", "Fingerprint", exchange.Fingerprint(w.db.HQSigningPublic()))
		}
	case "show":
		all, err := w.db.Roots(ctx)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			cli.Say(stdout, "cli.root_none")
		}
		for _, b := range all {
			_, st, err := root.Parse(b)
			if err != nil {
				return err
			}
			cli.Say(stdout, "cli.root_line", "Version", fmt.Sprint(st.Version), "Issued", st.Issued.Format(time.DateOnly),
				"Fingerprint", exchange.Fingerprint(st.Online.Signing[0]), "Threshold", fmt.Sprint(st.Root.Threshold), "Keys", fmt.Sprint(len(st.Root.Keys)))
		}
	}
	return nil
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// rootSign writes the next root statement, or adds signatures to one.
func rootSign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chancery-hq root sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keys, rootKeys multi
	out := fs.String("out", "", "the statement to write, or to add signatures to if it exists")
	onlineFile := fs.String("online", "", "HQ's online keys, as \"root online\" wrote them")
	prevFile := fs.String("previous", "", "the version before (none: this is version 1)")
	threshold := fs.Int("threshold", 0, "how many root keys must sign the next version (default: as before, or all the --root-key)")
	fs.Var(&keys, "key", "a root key file to sign with (repeat)")
	fs.Var(&rootKeys, "root-key", "a root key (file, or public key in base64) that signs the next version (repeat; default: as before, or the --key)")
	if err := fs.Parse(args); err != nil {
		return cli.ErrUsage
	}
	if *out == "" || len(keys) == 0 {
		return cli.Usage("cli.sign_usage")
	}
	var prev root.Trusted
	if *prevFile != "" {
		b, err := os.ReadFile(*prevFile)
		if err != nil {
			return err
		}
		if prev, err = root.Load(b); err != nil {
			return fmt.Errorf("%s: %w", *prevFile, err)
		}
	}
	var s root.Signed
	if b, err := os.ReadFile(*out); err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return problem.New(problem.Invalid, "cli.not_statement", "File", *out, "Why", err)
		}
	} else {
		if *onlineFile == "" {
			return cli.Usage("cli.statement_needs_online")
		}
		b, err := os.ReadFile(*onlineFile)
		if err != nil {
			return err
		}
		var on root.Online
		if err := json.Unmarshal(b, &on); err != nil {
			return problem.New(problem.Invalid, "cli.not_online", "File", *onlineFile, "Why", err)
		}
		role := prev.Statement.Root
		if len(rootKeys) > 0 || prev.Zero() {
			if len(rootKeys) == 0 {
				rootKeys = keys
			}
			role = root.Role{Threshold: len(rootKeys)}
			for _, k := range rootKeys {
				if priv, err := root.ReadKey(k); err == nil {
					role.Keys = append(role.Keys, root.PublicOf(priv))
				} else if _, statErr := os.Stat(k); statErr == nil {
					return err
				} else {
					role.Keys = append(role.Keys, k)
				}
			}
		}
		if *threshold > 0 {
			role.Threshold = *threshold
		}
		if s, err = root.New(prev, role, on, time.Now()); err != nil {
			return err
		}
	}
	for _, k := range keys {
		priv, err := root.ReadKey(k)
		if err != nil {
			return err
		}
		s.Sign(priv)
	}
	if err := durable.WriteFile(*out, func(w io.Writer) error { _, err := w.Write(append(s.Encode(), '\n')); return err }); err != nil {
		return err
	}
	_, st, _ := root.Parse(s.Encode())
	if err := s.Complete(prev); err != nil {
		cli.Say(stdout, "cli.root_partial", "File", *out, "Version", fmt.Sprint(st.Version), "Why", err)
		return nil
	}
	cli.Say(stdout, "cli.root_complete", "File", *out, "Version", fmt.Sprint(st.Version))
	return nil
}
