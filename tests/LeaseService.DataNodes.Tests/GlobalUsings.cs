global using LeaseService.Testing;
