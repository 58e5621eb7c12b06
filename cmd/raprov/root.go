package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newRoot returns the raprov command tree. Add a command by adding its
// constructor to the AddCommand list; withUsageErrors then gives it the
// exit codes of every other command.
func newRoot() *cobra.Command {
	var version bool
	var o outputFormat
	root := &cobra.Command{
		Use:           "raprov",
		Short:         "Provision Microsoft Teams Phone resource accounts from events",
		Long:          "Provision Microsoft Teams Phone resource accounts from events.\n\nCommands, flags, JSON output and exit codes: docs/cli.md.",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version {
				return writeVersion(cmd.OutOrStdout(), o, buildVersion())
			}
			return cmd.Help()
		},
	}
	root.Flags().BoolVar(&version, "version", false, "print the version, as raprov version does")
	addOutputFlag(root, &o)
	root.Flags().Lookup("output").Usage = "with --version: table, json or jsonl"
	root.AddCommand(
		newRunCmd(),
		newServeCmd(),
		newSubmitCmd(),
		newStatusCmd(),
		newDLQCmd(),
		newGraphsimCmd(),
		newBenchCmd(),
		newDoctorCmd(),
		newLoginCmd(),
		newVersionCmd(),
		newDeprovisionCmd(),
	)
	return withUsageErrors(root)
}

// withUsageErrors makes every flag and argument error in the tree under
// root a usage error (exit 2): a flag that does not parse (an unknown -o
// value too), a wrong number of arguments, an unknown command. cobra
// returns these as plain errors; the `completion` and `help` commands it
// adds while executing keep its own handling.
func withUsageErrors(root *cobra.Command) *cobra.Command {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c.HasSubCommands():
			// cobra checks the arguments of a command only when it can
			// run, and finds unknown subcommands itself only at the root.
			c.Args = unknownCommand
			if c.Run == nil && c.RunE == nil {
				c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
			}
		case c.Args != nil:
			check := c.Args
			c.Args = func(c *cobra.Command, args []string) error { return usageError(check(c, args)) }
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root
}

// unknownCommand refuses arguments to a command that only has subcommands.
func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set where it suggests itself
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError(fmt.Errorf("%s", msg))
}
