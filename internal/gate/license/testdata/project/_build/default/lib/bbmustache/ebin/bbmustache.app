{application,bbmustache,
 [{description,"Binary pattern match Based Mustache template engine for Erlang/OTP"},
  {vsn,"1.12.2"},
  {applications,[kernel,stdlib]},
  {licenses,["MIT"]}]}.
