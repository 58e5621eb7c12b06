package main

import (
	"github.com/spf13/cobra"

	"github.com/raprov/raprov/infra/graphsim"
)

func newGraphsimCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "graphsim [flags]",
		Short:              "Start the Microsoft Graph simulator alone (flags: raprov graphsim -h)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return graphsim.Main(cmd.Context(), args, cmd.OutOrStdout())
		},
	}
}
