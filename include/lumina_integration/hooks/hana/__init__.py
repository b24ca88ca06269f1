"""SAP HANA / SAP ERP adapter: hook, connection settings, options, SQL builder, reader."""
