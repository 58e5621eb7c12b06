package teamssim

// Operator ids of the default seed. Calling Plan numbers carry Microsoft's
// operator id as shown in the Learn examples; direct routing numbers carry the
// tenant's own id; the Operator Connect carrier is fictional.
const (
	callingPlanOperatorID     = "0019adbc-b82a-47b4-a799-4e993a9982f1"
	operatorConnectOperatorID = "d4a6c8e0-2f4b-4d6a-8c0e-6b8d0f2a4c85"
)

// Object ids of the default seed's existing resource accounts, auto
// attendants, call queues and users holding numbers.
const (
	SeedReceptionAccountID = "6a1d3f5b-2c4e-4a7b-9d8f-0e2c4a6b8d51" // AA resource account, holds +12065550142
	SeedSupportAccountID   = "9c3e5a7d-4b6f-4c8e-8a0d-2f4b6d8f0a62" // CQ resource account, holds +13125550104
	SeedSalesUKAccountID   = "b5e7c9a1-6d8f-4e0a-9c2b-4d6f8a0c2e73" // CQ resource account, holds +442079460321, unassociated

	SeedMainReceptionAAID = "3f9a1c52-7d4e-4b8a-9e21-6c0d5b8f4a11"
	SeedAfterHoursAAID    = "8b2e6d17-45c3-4f0a-a9d8-1e7c3b5f9d22"
	SeedSupportCQID       = "c4d7e9a3-1b6f-4e82-8c5d-2f9a0b7e6c33"
	SeedSalesCQID         = "e1f3a5b7-9c2d-4d6e-b8f0-3a5c7e9b1d44"
)

var (
	serviceCaps = []string{CapabilityConferenceAssignment, CapabilityVoiceApplicationAssignment}
	userCaps    = []string{CapabilityUserAssignment}
	anyCaps     = []string{CapabilityConferenceAssignment, CapabilityVoiceApplicationAssignment, CapabilityUserAssignment}
)

// callingPlan returns an unassigned Calling Plan number.
func callingPlan(tel, country, city string, caps []string) Number {
	return Number{
		TelephoneNumber:          tel,
		OperatorID:               callingPlanOperatorID,
		NumberType:               NumberTypeCallingPlan,
		Capabilities:             caps,
		IsoCountryCode:           country,
		City:                     city,
		NumberSource:             "online",
		SupportedCustomerActions: []string{"locationUpdate", "release"},
	}
}

// assigned returns n assigned to target with the given status.
func assigned(n Number, status, target string) Number {
	n.AssignmentStatus = status
	n.AssignmentTargetID = target
	n.AssignmentCategory = "primary"
	return n
}

// DefaultSeed returns a realistic tenant: 44 Calling Plan numbers in the US,
// Canada, the United Kingdom, Germany, France, Australia and the Netherlands
// (numbers from ranges reserved for fiction or test where the country has
// them), most of them service numbers with voiceApplicationAssignment, some
// user numbers, a few assigned to users and to three existing resource
// accounts; two direct routing numbers and one Operator Connect toll-free
// number; two auto attendants and two call queues. The users behind the
// seeded resource accounts must exist in the Directory for assignments to
// them to succeed.
func DefaultSeed() Seed {
	const (
		user1 = "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01"
		user2 = "4f6a8c0e-2b3d-4e5f-9a7b-1c3d5e7f9a02"
		user3 = "7b9d1f3a-5c7e-4a9b-8d1f-3e5a7c9e1b03"
		user4 = "1e3a5c7e-9b1d-4f3a-a5c7-9e1b3d5f7a04"
	)
	numbers := []Number{
		assigned(callingPlan("+12065550142", "US", "Seattle", serviceCaps), StatusVoiceApplicationAssigned, SeedReceptionAccountID),
		callingPlan("+12065550143", "US", "Seattle", serviceCaps),
		assigned(callingPlan("+12065550188", "US", "Seattle", userCaps), StatusUserAssigned, user1),
		callingPlan("+12125550178", "US", "New York", serviceCaps),
		callingPlan("+12125550179", "US", "New York", serviceCaps),
		callingPlan("+12125550190", "US", "New York", userCaps),
		assigned(callingPlan("+13125550104", "US", "Chicago", serviceCaps), StatusVoiceApplicationAssigned, SeedSupportAccountID),
		callingPlan("+13125550105", "US", "Chicago", serviceCaps),
		assigned(callingPlan("+13125550111", "US", "Chicago", userCaps), StatusUserAssigned, user2),
		callingPlan("+15125550131", "US", "Austin", serviceCaps),
		callingPlan("+15125550132", "US", "Austin", anyCaps),
		callingPlan("+14155550166", "US", "San Francisco", serviceCaps),
		callingPlan("+14155550167", "US", "San Francisco", serviceCaps),
		callingPlan("+14155550170", "US", "San Francisco", userCaps),

		callingPlan("+14165550123", "CA", "Toronto", serviceCaps),
		callingPlan("+14165550124", "CA", "Toronto", serviceCaps),
		callingPlan("+16045550187", "CA", "Vancouver", serviceCaps),
		callingPlan("+16045550188", "CA", "Vancouver", userCaps),
		callingPlan("+15145550150", "CA", "Montreal", serviceCaps),

		assigned(callingPlan("+442079460321", "GB", "London", serviceCaps), StatusVoiceApplicationAssigned, SeedSalesUKAccountID),
		callingPlan("+442079460322", "GB", "London", serviceCaps),
		assigned(callingPlan("+442079460323", "GB", "London", userCaps), StatusUserAssigned, user3),
		callingPlan("+441614960456", "GB", "Manchester", serviceCaps),
		callingPlan("+441614960457", "GB", "Manchester", userCaps),
		callingPlan("+441134960789", "GB", "Leeds", serviceCaps),

		callingPlan("+493012345670", "DE", "Berlin", serviceCaps),
		callingPlan("+493012345671", "DE", "Berlin", userCaps),
		callingPlan("+498912345680", "DE", "Munich", serviceCaps),
		callingPlan("+498912345681", "DE", "Munich", anyCaps),
		callingPlan("+494012345690", "DE", "Hamburg", serviceCaps),

		callingPlan("+33145678901", "FR", "Paris", serviceCaps),
		assigned(callingPlan("+33145678902", "FR", "Paris", userCaps), StatusUserAssigned, user4),
		callingPlan("+33145678903", "FR", "Paris", serviceCaps),
		callingPlan("+33472345601", "FR", "Lyon", serviceCaps),
		callingPlan("+33491234567", "FR", "Marseille", userCaps),

		callingPlan("+61255501234", "AU", "Sydney", serviceCaps),
		callingPlan("+61255501235", "AU", "Sydney", userCaps),
		callingPlan("+61370101234", "AU", "Melbourne", serviceCaps),
		callingPlan("+61370101235", "AU", "Melbourne", serviceCaps),
		callingPlan("+61735501234", "AU", "Brisbane", userCaps),

		callingPlan("+31201234567", "NL", "Amsterdam", serviceCaps),
		callingPlan("+31201234568", "NL", "Amsterdam", userCaps),
		callingPlan("+31101234567", "NL", "Rotterdam", serviceCaps),
		callingPlan("+31301234567", "NL", "Utrecht", serviceCaps),

		// Direct routing numbers have no country or city in Graph (Learn
		// examples show null); their operator is the tenant.
		{
			TelephoneNumber:          "+14255550119",
			OperatorID:               tenantID,
			NumberType:               NumberTypeDirectRouting,
			Capabilities:             anyCaps,
			NumberSource:             "online",
			SupportedCustomerActions: []string{"locationUpdate"},
		},
		{
			TelephoneNumber:          "+496912345678",
			OperatorID:               tenantID,
			NumberType:               NumberTypeDirectRouting,
			Capabilities:             anyCaps,
			NumberSource:             "online",
			SupportedCustomerActions: []string{"locationUpdate"},
		},
		{
			TelephoneNumber:          "+448081570123",
			OperatorID:               operatorConnectOperatorID,
			NumberType:               NumberTypeOperatorConnect,
			Capabilities:             serviceCaps,
			IsoCountryCode:           "GB",
			NumberSource:             "online",
			SupportedCustomerActions: []string{"locationUpdate"},
		},
	}
	for i := range numbers {
		numbers[i].Capabilities = append([]string(nil), numbers[i].Capabilities...)
	}
	return Seed{
		Numbers: numbers,
		ApplicationInstances: []AppInstance{
			{ObjectID: SeedReceptionAccountID, UserPrincipalName: "ra-reception@contoso.com", DisplayName: "Reception", ApplicationID: AutoAttendantAppID},
			{ObjectID: SeedSupportAccountID, UserPrincipalName: "ra-support@contoso.com", DisplayName: "Support", ApplicationID: CallQueueAppID},
			{ObjectID: SeedSalesUKAccountID, UserPrincipalName: "ra-sales-uk@contoso.com", DisplayName: "Sales UK", ApplicationID: CallQueueAppID},
		},
		Configurations: []Configuration{
			{ID: SeedMainReceptionAAID, Type: ConfigurationAutoAttendant, Name: "Main Reception"},
			{ID: SeedAfterHoursAAID, Type: ConfigurationAutoAttendant, Name: "After Hours"},
			{ID: SeedSupportCQID, Type: ConfigurationCallQueue, Name: "Support"},
			{ID: SeedSalesCQID, Type: ConfigurationCallQueue, Name: "Sales"},
		},
		Associations: []Association{
			{ObjectID: SeedReceptionAccountID, ConfigurationID: SeedMainReceptionAAID, ConfigurationType: ConfigurationAutoAttendant},
			{ObjectID: SeedSupportAccountID, ConfigurationID: SeedSupportCQID, ConfigurationType: ConfigurationCallQueue},
		},
	}
}
