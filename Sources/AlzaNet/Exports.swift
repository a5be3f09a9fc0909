// Users of the transport speak its wire types and cores: importing AlzaNet brings AlzaNetCore along.
@_exported import AlzaNetCore
