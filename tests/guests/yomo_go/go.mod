module rxyomo.test/yomo_go

go 1.24
