package main

import (
	"errors"
	"flag"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/infra/graphsim"
)

func newGraphsimCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "graphsim [flags]",
		Short:              "Start the Microsoft Graph simulator alone (flags: raprov graphsim -h)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := graphsim.Main(cmd.Context(), args, cmd.OutOrStdout())
			if errors.Is(err, flag.ErrHelp) {
				return nil // -h: the simulator printed its flags
			}
			return err
		},
	}
}
